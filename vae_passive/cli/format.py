"""Text that commands print: the readable summary of an analysis document, counts with their nouns."""

from __future__ import annotations

from vae_passive.analysis.document import AnalysisDocument
from vae_passive.latents.variables import missing_score_reason


def format_summary(document: AnalysisDocument) -> str:
    """A readable summary: warnings first, one row per latent (with the reason for its kind), then
    mean-vs-sampled TC per subset, each undefined value with the reason why, then any metric values."""
    model, data, rule = document["model"], document["data"], document["rule"]
    title = f"model {model['key']}" + (
        f" ({model['dataset']}, {model['method']} {model['value']:g})" if model["method"] else ""
    )
    stand_in = {False: " (stand-in, not the published data)", None: " (given codes)"}.get(data["real"], "")
    lines = [
        title,
        f"data: {data['source']}{stand_in}, N = {data['num_samples']}, seed {data['seed']}",
        f"rule: {rule['name']} (var threshold {rule['var_threshold']}"
        + (f", mean tolerance {rule['mean_tolerance']})" if rule["mean_tolerance"] is not None else ")"),
        *(f"warning: {warning}" for warning in document.get("warnings", [])),
        "",
        f"{'latent':>6}  {'kind':<8}  {'E[var]':>9}  {'Var[var]':>9}  {'Var[mean]':>9}  reason",
    ]
    for latent in document["latents"]:
        lines.append(
            f"{latent['index']:>6}  {latent['kind']:<8}  {latent['mean_of_variance']:>9.4f}  "
            f"{latent['variance_of_variance']:>9.4f}  {latent['variance_of_mean']:>9.4f}  "
            f"{latent.get('reason', 'not recorded')}"
        )
    counts = document["counts"]
    lines += ["", f"active {counts['active']}, passive {counts['passive']}, mixed {counts['mixed']}", ""]
    lines.append(f"{'subset':<15}  {'latents':>7}  {'TC mean':>9}  {'TC sampled':>10}")
    by_subset: dict[str, dict[str, float | None]] = {}
    sizes: dict[str, int] = {}
    for score in document["scores"]:
        sizes[score["subset"]] = score["num_latents"]
        by_subset.setdefault(score["subset"], {})[score["representation"]] = score["gaussian_total_correlation"]
    missing = []
    for subset, tc in by_subset.items():
        lines.append(
            f"{subset:<15}  {sizes[subset]:>7}  {_number(tc.get('mean')):>9}  {_number(tc.get('sampled')):>10}"
        )
        for representation in ("mean", "sampled"):
            if representation in tc and tc[representation] is None:
                why = missing_score_reason(document["latents"], subset, representation)
                missing.append(f"  n/a: TC of the {representation} code on {subset}: {why}")
    if not by_subset:
        lines.append("(no subset has 2 or more latents)")
    lines += missing + _metric_lines(document)
    return "\n".join(lines)


def _metric_lines(document: AnalysisDocument) -> list[str]:
    """The metric values, one line per metric and key: mean vs sampled code on each subset."""
    values: dict[tuple[str, str, str], dict[str, str]] = {}
    for row in document.get("metrics", []):
        shown = f"failed ({row['error']})" if row.get("error") else _number(row.get("value"))
        name = (str(row["metric"]), str(row.get("key") or row["metric"]), str(row["subset"]))
        values.setdefault(name, {})[str(row["representation"])] = shown
    if not values:
        return []
    lines = ["", f"{'metric':<45}  {'subset':<13}  {'mean':>9}  {'sampled':>9}"]
    for (metric, key, subset), by_rep in sorted(values.items()):
        label = metric if key == metric else f"{metric}: {key}"
        lines.append(f"{label:<45}  {subset:<13}  {by_rep.get('mean', ''):>9}  {by_rep.get('sampled', ''):>9}")
    return lines


def _number(value: float | None) -> str:
    """A score to 4 decimals, or n/a where it is undefined."""
    return "n/a" if value is None else f"{value:.4f}"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 model``, ``2 models``, ``1,800 models``: the count and the noun in the number it needs."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"
