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
from vae_passive.errors import VaePassiveError
from vae_passive.zoo import catalogue

#: beta_vae on dsprites_full: beta = 1 (level 0) and beta = 16 (level 5), seeds 0 and 1.
DEMO_IDS = (0, 1, 250, 251)
DEMO_NOTE = (
    "Demo run: models trained here for {steps} steps (the published models trained for 300,000) "
    "on procedural dSprites, a stand-in for the published data. The numbers show the pipeline, not the study."
)


def demo_commands(out: Path, steps: int, num_samples: int) -> list[list[str]]:
    """The user-level commands of the demo, in order (without the ``vae-passive`` prefix)."""
    mirror, ids = out / "mirror", ",".join(map(str, DEMO_IDS))
    commands = [
        [
            *("train", "--model-id", str(i), "--steps", str(steps), "--dataset", "procedural_dsprites"),
            *("--out", str(mirror / "trained"), "--zip", "--quiet"),
        ]
        for i in DEMO_IDS
        if not (mirror / "trained" / f"{i}.zip").exists()
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
            DEMO_NOTE.format(steps=steps),
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
    return report
