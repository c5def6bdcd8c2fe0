"""The offline demo: train a mini zoo, serve it from a local mirror, then fetch, analyse, report.

Two designs (``Design``): the demo (2 models, the finding in one model) and the mini study (a reduced
design of the study with enough models for the report's three claim tests). Every step runs the
``vae-passive`` command a user would type, in a separate process, with its own home folder under the
demo folder and no network (``VAE_PASSIVE_OFFLINE=1``).
"""

from __future__ import annotations

import csv
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vae_passive import config
from vae_passive.analysis.analyze import DEFAULT_NUM_SAMPLES
from vae_passive.analysis.document import read_document
from vae_passive.atomic import write_text
from vae_passive.errors import VaePassiveError
from vae_passive.latents.scores import FAR_ABOVE_NULL_P, WITHIN_NULL_P, tc_null
from vae_passive.zoo import catalogue
from vae_passive.zoo.origin import PUBLISHED_PRECISION, folder_origin

#: beta_vae on dsprites_full, seed 0: beta = 1 (level 0, weakly regularised) and beta = 16 (level 5).
#: The recipe and why: docs/training.md, "The demo".
DEMO_IDS = (0, 250)
DEMO_STEPS = 3000  # beta = 16 grows its passive latents between steps 2,000 and 3,000 (measured)
DEMO_LOG_EVERY = 500
DEMO_NOTE = (
    "Demo run, not the published spec: 2 of the 300 dsprites_full beta_vae models (ids {ids}: beta 1 and 16, "
    "seed 0), trained here for {steps:,} steps instead of 300,000, on procedural dSprites (a stand-in for the "
    "published images); everything else (architecture, batch 64, Adam) as published; {analysis}; training logged "
    "every {every} steps."
)


#: The mini study: beta_vae on dsprites_full, beta = 1 (seeds 0 and 1) and beta = 16 (seeds 0 to 5), at the
#: demo's length. Claim (a) needs 5 models with 2 or more passive latents: beta 16 gave 2 to 4 at 3,000 steps
#: in each seed measured, so 6 seeds keep one in reserve. The design and why: docs/training.md, "The mini study".
MINI_STUDY_IDS = (0, 1, 250, 251, 252, 253, 254, 255)
MINI_STUDY_NOTE = (
    "Mini study, a reduced design of the paper's study: {count} of its 9,000 models ({ids}: beta_vae on "
    "dsprites_full, beta 1 at seeds 0-1 and beta 16 at seeds 0-5; the paper used 5 methods x 6 values x 50 seeds "
    "on 6 data sets), trained here for {steps:,} steps instead of 300,000, on procedural dSprites (a stand-in for "
    "the published images); the paper's metrics at the fast preset: the truncated logistic-regression task on 50 "
    "training and 50 test points with C = 1 without cross-validation instead of 10,000 and 5,000 points with a 10-C, "
    "5-fold CV, and the effective rank on 1,000 points instead of 10,000; everything else (architecture, batch 64, "
    "Adam) as published; {analysis}. The claims' verdicts rest on these {count} models, not on the study's."
)


@dataclass(frozen=True)
class Design:
    """What a demo run trains and measures, and the note its report carries."""

    name: str
    ids: tuple[int, ...]
    note: str
    log_every: int | None = None  # training dynamics figures (costs time)
    analysis: tuple[str, ...] = ()  # more `analyze` options
    fleet: bool = False  # one `train --ids` over the machine's cores, instead of one `train` per model
    claims: bool = False  # print the report's verdicts on the paper's three claims (enough models for them)

    def report_note(self, steps: int, num_samples: int, precision: str = PUBLISHED_PRECISION) -> str:
        ids = " and ".join(map(str, self.ids)) if len(self.ids) <= 2 else f"ids {_ranges(self.ids)}"
        every = min(self.log_every, steps) if self.log_every else None
        analysis = f"the analysis at N = {num_samples:,}" + (
            " as published" if num_samples == DEFAULT_NUM_SAMPLES else f" (published: {DEFAULT_NUM_SAMPLES:,})"
        )
        note = self.note.format(ids=ids, steps=steps, every=every, count=len(self.ids), analysis=analysis)
        if precision != PUBLISHED_PRECISION:
            note += f" Trained in {precision} (--precision {precision}) instead of the published fp32."
        return note


def _ranges(ids: tuple[int, ...]) -> str:
    """``0-1,250-255``: sorted ids in the catalogue's selection syntax."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ",".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)


DEMO = Design("demo", DEMO_IDS, DEMO_NOTE, log_every=DEMO_LOG_EVERY)
#: At the demo's length (``DEMO_STEPS``, the command's default) for the demo's reason.
MINI_STUDY = Design(
    "mini study",
    MINI_STUDY_IDS,
    MINI_STUDY_NOTE,
    analysis=("--metrics", "study", "--preset", "fast"),
    fleet=True,
    claims=True,
)


def _already_trained(trained: Path, model_id: int, steps: int, precision: str = PUBLISHED_PRECISION) -> bool:
    """Whether an earlier run in this demo folder left model ``model_id`` trained for exactly ``steps`` steps in
    ``precision`` (then it is reused: an interrupted demo resumes). A model of another length or precision is
    refused, never reused: the report's note and the printed verdict would describe a run that did not happen."""
    if not (trained / f"{model_id}.zip").exists():
        return False
    origin = folder_origin(trained / str(model_id))
    if origin.steps != steps:
        raise VaePassiveError(
            f"{trained.parent.parent} holds a demo model {model_id} trained for "
            f"{origin.steps or 'an unknown number of'} steps, not {steps:,}; use another --out folder or remove it"
        )
    found = origin.precision or PUBLISHED_PRECISION  # models trained before the precision was recorded were fp32
    if found != precision:
        raise VaePassiveError(
            f"{trained.parent.parent} holds a demo model {model_id} trained in {found}, "
            f"not {precision}; use another --out folder or remove that one"
        )
    return True


def demo_commands(
    out: Path, steps: int, num_samples: int, design: Design = DEMO, precision: str = PUBLISHED_PRECISION
) -> list[list[str]]:
    """The user-level commands of ``design``, in order (without the ``vae-passive`` prefix)."""
    mirror, ids = out / "mirror", _ranges(design.ids)
    todo = [i for i in design.ids if not _already_trained(mirror / "trained", i, steps, precision)]
    precision_option = ("--precision", precision) if precision != PUBLISHED_PRECISION else ()
    where = ("--data", "procedural_dsprites", "--out", str(mirror / "trained"), "--zip", *precision_option)
    logging = ("--log-every", str(min(design.log_every, steps))) if design.log_every else ()
    if design.fleet:
        commands = [["train", "--ids", _ranges(tuple(todo)), "--steps", str(steps), *where, *logging]] if todo else []
    else:
        commands = [["train", "--model-id", str(i), "--steps", str(steps), *where, "--quiet", *logging] for i in todo]
    commands.append(["fetch", "--ids", ids, "--mirror", str(mirror / "trained"), "--quiet"])
    commands.append(
        [
            *("analyze", "--ids", ids, "--jobs", "2", "--num-samples", str(num_samples), *design.analysis),
            *("--save-codes", "--quiet", "--results", str(out / "results")),
        ]
    )
    commands.append(
        [
            *("report", "--results", str(out / "results"), "--out", str(out / "report")),
            *("--model-id", str(design.ids[-1]), "--note", design.report_note(steps, num_samples, precision)),
        ]
    )
    return commands


def run_demo(
    out: Path,
    steps: int,
    num_samples: int,
    echo: Callable[[str], None],
    design: Design = DEMO,
    precision: str = PUBLISHED_PRECISION,
) -> Path:
    """Run every command of ``design`` (training in ``precision``); return the report's ``index.html``."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    _claim_folder(out, design)
    env = {**os.environ, config.HOME: str(out / "home"), config.OFFLINE: "1"}
    env.pop(config.MIRROR, None)
    records = [catalogue.record(i) for i in design.ids]
    echo(
        f"vae-passive {design.name}: "
        + ", ".join(f"model {r.id} ({r.method}, beta {r.value:g}, seed {r.seed})" for r in records)
    )
    started = time.perf_counter()
    for args in demo_commands(out, steps, num_samples, design, precision):
        echo(f"\n$ vae-passive {shlex.join(args)}")
        step_started = time.perf_counter()
        completed = subprocess.run([sys.executable, "-m", "vae_passive", *args], env=env)
        if completed.returncode != 0:
            raise VaePassiveError(f"demo step `vae-passive {args[0]}` failed (exit code {completed.returncode})")
        echo(f"  ({time.perf_counter() - step_started:.1f} s)")
    report = out / "report" / "index.html"
    echo(f"\n{design.name} finished in {time.perf_counter() - started:.0f} s; open {report}")
    for line in headline(out / "results", design.ids, design.name):
        echo(line)
    if design.claims:
        for line in claim_verdicts(out / "report"):
            echo(line)
    return report


#: Names the design a demo folder was made by: the demo and the mini study share models 0 and 250, so one
#: run in the other's folder would reuse models trained another way and report over the other's documents.
DESIGN_MARKER = ".vae-passive-design"


def _claim_folder(out: Path, design: Design) -> None:
    """Mark ``out`` as ``design``'s; refuse a folder another design made, in one line."""
    marker = out / DESIGN_MARKER
    found = None
    if marker.is_file():
        with marker.open("rb") as stream:  # a marker's first 100 bytes name a design; nothing longer is read
            found = stream.read(100).decode("utf-8", errors="replace").strip()
    if found is not None and found != design.name:
        raise VaePassiveError(f"{out} holds a {found} run, not a {design.name} one; use another --out folder")
    if found is None:
        write_text(marker, design.name + "\n")


def claim_verdicts(report: Path) -> list[str]:
    """The report's verdict on each of the paper's three claims (``tables/findings.csv``), one line each."""
    with open(report / "tables" / "findings.csv", newline="", encoding="utf-8") as table:
        rows = [row for row in csv.DictReader(table) if row["title"].startswith("Claim")]
    if not rows:
        return ["", "The report has no verdicts on the paper's claims: it found no documents to judge them on."]
    lines = []
    for group in dict.fromkeys(row["group"] for row in rows):  # one block per comparability group, in order
        lines += ["", f"The report's verdicts on the paper's claims ({group}):"]
        for row in (row for row in rows if row["group"] == group):
            verdict = row["text"].split(". ", 1)[0].rstrip(".")
            lines.append(f"  {row['title']}: {verdict}.")
    return lines


#: The finding shows in a model when its passive latents' TC is far above what independent latents give in the
#: mean code (``FAR_ABOVE_NULL_P``), within it in the sampled code (``WITHIN_NULL_P``): the report's claim (a)
#: test, per model; and at least this many times higher in the mean code (the paper's differ by orders of magnitude).
FINDING_RATIO = 10.0


def _tc(document, representation: str, subset: str) -> float | None:
    rows = [r for r in document["scores"] if r["representation"] == representation and r["subset"] == subset]
    return rows[0]["gaussian_total_correlation"] if rows else None


def _against_null(mean: float, sampled: float, n: int | None, k: int) -> str:
    """Empty when the two TCs pass claim (a)'s per-model test at N = ``n`` for ``k`` latents; else why not."""
    if not n:
        return "N is not recorded, so the TC cannot be set against independent latents"
    p_mean, p_sampled = float(tc_null(mean, n, k)), float(tc_null(sampled, n, k))
    if p_mean >= FAR_ABOVE_NULL_P:
        return f"the mean code's TC is within what {k} independent latents give at N = {n:,} (p = {p_mean:.2g})"
    if p_sampled < WITHIN_NULL_P:
        return f"the sampled code's TC is above what {k} independent latents give at N = {n:,} (p = {p_sampled:.2g})"
    return ""


def headline(results: Path, ids: tuple[int, ...] = DEMO_IDS, name: str = "demo") -> list[str]:
    """What the demo measured: counts per kind and the passive latents' TC, mean vs sampled, per model, then
    the verdict those numbers give (the paper's finding, or plainly that it did not show, and why)."""
    lines = [""]
    shown, measured = [], []
    for model_id in ids:
        document = read_document(results / str(model_id) / "analysis.json")
        counts, beta = document["counts"], catalogue.record(model_id).value
        n = document.get("data", {}).get("num_samples")
        if len(lines) == 1:
            lines.append(f"What the {name} measured" + (f" (N = {n:,} inputs per model):" if n else ":"))
        kinds = ", ".join(f"{counts[kind]} {kind}" for kind in ("passive", "mixed", "active"))
        text = f"  beta {beta:g} (model {model_id}): {kinds}"
        mean, sampled = _tc(document, "mean", "passive"), _tc(document, "sampled", "passive")
        if mean is not None and sampled is not None:
            ratio = f"{mean / sampled:,.0f}x" if sampled > 0 else "infinitely"
            text += f"; passive latents' total correlation: mean code {mean:.3g}, sampled code {sampled:.2g} ({ratio})"
            measured.append(model_id)
            why_not = _against_null(mean, sampled, n, counts["passive"])
            if not why_not and not (mean > 0 and mean >= FINDING_RATIO * max(sampled, 0.0)):
                why_not = f"the mean code's TC is not {FINDING_RATIO:g}x the sampled code's"
            text += f"; but {why_not}" if why_not else ""
            if not why_not:
                shown.append(f"model {model_id} (beta {beta:g})")
        elif counts["passive"] >= 2:
            text += "; passive latents' total correlation undefined (a constant latent)"
        lines.append(text)
    lines.append(_verdict(shown, measured))
    return lines


def _verdict(shown: list[str], measured: list[int]) -> str:
    """The paper's finding when the numbers show it, else a plain sentence that it did not show, and why."""
    if shown:
        return (
            f"  Measured in {', '.join(shown)}: the passive latents look independent in the sampled code but are "
            f"correlated in the mean code (far above what independent latents give, and {FINDING_RATIO:g}x or more "
            "the sampled code's total correlation), which most downstream uses take: the paper's finding."
        )
    if not measured:
        why = "no model has two or more passive latents with a total correlation to compare"
    else:
        why = (
            "in no model is the passive latents' total correlation far above what independent latents give in the "
            f"mean code, within it in the sampled code, and {FINDING_RATIO:g}x higher in the mean code"
        )
    return f"  The paper's finding did not show in this run: {why}. Train longer (--steps) and run the demo again."
