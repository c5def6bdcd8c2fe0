"""The offline demo: train a mini zoo, serve it from a local mirror, then fetch, analyse, report.

Every step runs the ``vae-passive`` command a user would type, in a separate process, with its own
home folder under the demo folder and no network (``VAE_PASSIVE_OFFLINE=1``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from vae_passive import config
from vae_passive.analysis.document import read_document
from vae_passive.errors import VaePassiveError
from vae_passive.zoo import catalogue
from vae_passive.zoo.origin import folder_origin

#: beta_vae on dsprites_full, seed 0: beta = 1 (level 0, weakly regularised) and beta = 16 (level 5).
#: The recipe and why: docs/training.md, "The demo".
DEMO_IDS = (0, 250)
DEMO_STEPS = 3000  # beta = 16 grows its passive latents between steps 2,000 and 3,000 (measured)
DEMO_LOG_EVERY = 500
DEMO_NOTE = (
    "Demo run, not the published spec: 2 of the 300 dsprites_full beta_vae models (ids {ids}: beta 1 and 16, "
    "seed 0), trained here for {steps:,} steps instead of 300,000, on procedural dSprites (a stand-in for the "
    "published images); everything else (architecture, batch 64, Adam, the analysis at N = 10,000) as published; "
    "training logged every {every} steps."
)


def _already_trained(trained: Path, model_id: int, steps: int) -> bool:
    """Whether an earlier run in this demo folder left model ``model_id`` trained for exactly ``steps`` steps (then
    it is reused: an interrupted demo resumes). A model of another length is refused, never reused: the report's
    note and the printed verdict would describe a run that did not happen."""
    if not (trained / f"{model_id}.zip").exists():
        return False
    found = folder_origin(trained / str(model_id)).steps
    if found != steps:
        raise VaePassiveError(
            f"{trained.parent.parent} holds a demo model {model_id} trained for {found or 'an unknown number of'} "
            f"steps, not {steps:,}; use another --out folder or remove that one"
        )
    return True


def demo_commands(out: Path, steps: int, num_samples: int) -> list[list[str]]:
    """The user-level commands of the demo, in order (without the ``vae-passive`` prefix)."""
    mirror, ids = out / "mirror", ",".join(map(str, DEMO_IDS))
    commands = [
        [
            *("train", "--model-id", str(i), "--steps", str(steps), "--data", "procedural_dsprites"),
            *("--out", str(mirror / "trained"), "--zip", "--quiet", "--log-every", str(min(DEMO_LOG_EVERY, steps))),
        ]
        for i in DEMO_IDS
        if not _already_trained(mirror / "trained", i, steps)
    ]
    commands.append(["fetch", "--ids", ids, "--mirror", str(mirror / "trained"), "--quiet"])
    commands.append(
        [
            *("analyze", "--ids", ids, "--jobs", "2", "--num-samples", str(num_samples)),
            *("--save-codes", "--quiet", "--results", str(out / "results")),
        ]
    )
    commands.append(
        [
            "report",
            "--results",
            str(out / "results"),
            "--out",
            str(out / "report"),
            "--model-id",
            str(DEMO_IDS[-1]),
            "--note",
            DEMO_NOTE.format(ids=" and ".join(map(str, DEMO_IDS)), steps=steps, every=min(DEMO_LOG_EVERY, steps)),
        ]
    )
    return commands


def run_demo(out: Path, steps: int, num_samples: int, echo: Callable[[str], None]) -> Path:
    """Run every demo command; return the report's ``index.html``."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, config.HOME: str(out / "home"), config.OFFLINE: "1"}
    env.pop(config.MIRROR, None)
    records = [catalogue.record(i) for i in DEMO_IDS]
    echo(
        "vae-passive demo: " + ", ".join(f"model {r.id} ({r.method}, beta {r.value:g}, seed {r.seed})" for r in records)
    )
    started = time.perf_counter()
    for args in demo_commands(out, steps, num_samples):
        echo(f"\n$ vae-passive {shlex.join(args)}")
        step_started = time.perf_counter()
        completed = subprocess.run([sys.executable, "-m", "vae_passive", *args], env=env)
        if completed.returncode != 0:
            raise VaePassiveError(f"demo step `vae-passive {args[0]}` failed (exit code {completed.returncode})")
        echo(f"  ({time.perf_counter() - step_started:.1f} s)")
    report = out / "report" / "index.html"
    echo(f"\ndemo finished in {time.perf_counter() - started:.0f} s; open {report}")
    for line in headline(out / "results"):
        echo(line)
    return report


#: The finding shows in a model when its passive latents' TC is at least this many times higher in the mean
#: code than in the sampled one (the paper's models differ by orders of magnitude).
FINDING_RATIO = 10.0


def _tc(document, representation: str, subset: str) -> float | None:
    rows = [r for r in document["scores"] if r["representation"] == representation and r["subset"] == subset]
    return rows[0]["gaussian_total_correlation"] if rows else None


def _shows(mean: float | None, sampled: float | None) -> bool:
    """Whether the passive latents' TC is ``FINDING_RATIO`` times higher in the mean code than in the sampled."""
    return mean is not None and sampled is not None and mean > 0 and mean >= FINDING_RATIO * max(sampled, 0.0)


def headline(results: Path) -> list[str]:
    """What the demo measured: counts per kind and the passive latents' TC, mean vs sampled, per model, then
    the verdict those numbers give (the paper's finding, or plainly that it did not show, and why)."""
    lines = [""]
    shown, measured = [], []
    for model_id in DEMO_IDS:
        document = read_document(results / str(model_id) / "analysis.json")
        counts, beta = document["counts"], catalogue.record(model_id).value
        if len(lines) == 1:
            n = document.get("data", {}).get("num_samples")
            lines.append("What the demo measured" + (f" (N = {n:,} inputs per model):" if n else ":"))
        kinds = ", ".join(f"{counts[kind]} {kind}" for kind in ("passive", "mixed", "active"))
        text = f"  beta {beta:g} (model {model_id}): {kinds}"
        mean, sampled = _tc(document, "mean", "passive"), _tc(document, "sampled", "passive")
        if mean is not None and sampled is not None:
            ratio = f"{mean / sampled:,.0f}x" if sampled > 0 else "infinitely"
            text += f"; passive latents' total correlation: mean code {mean:.3g}, sampled code {sampled:.2g} ({ratio})"
            measured.append(model_id)
        elif counts["passive"] >= 2:
            text += "; passive latents' total correlation undefined (a constant latent)"
        lines.append(text)
        if _shows(mean, sampled):
            shown.append(f"model {model_id} (beta {beta:g})")
    lines.append(_verdict(shown, measured))
    return lines


def _verdict(shown: list[str], measured: list[int]) -> str:
    """The paper's finding when the numbers show it, else a plain sentence that it did not show, and why."""
    if shown:
        return (
            f"  Measured in {' and '.join(shown)}: the passive latents look independent in the sampled code but are "
            f"correlated in the mean code ({FINDING_RATIO:g}x or more), which most downstream uses take: the paper's "
            "finding."
        )
    if not measured:
        why = "no model has two or more passive latents with a total correlation to compare"
    else:
        why = f"no model's passive latents have a total correlation {FINDING_RATIO:g}x higher in the mean code"
    return f"  The paper's finding did not show in this run: {why}. Train longer (--steps) and run the demo again."
