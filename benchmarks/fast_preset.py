"""How long ``analyze --metrics all --preset fast`` takes on one model: per metric, and the whole command.

    PYTHONPATH=. python benchmarks/fast_preset.py [2019|current] [--wall N]

The exporter's designed 10-latent model (``tests/support/designed.py``) on procedural dSprites, one
process (``--jobs 1``). First the CPU seconds of each metric inside ``analyze_model`` (CPU time of this
process, so that a busy machine does not inflate them). With ``--wall N``, then the wall time of the
command a user runs, ``vae-passive analyze --model-dir … --metrics all --preset fast``, N times, beside
the same command without ``--metrics`` (the reference: start-up, encoding and the kinds) in the same run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.designed import designed_weights

from vae_passive.analysis.analyze import Settings, analyze_model, locate_model
from vae_passive.metrics.registry import parse_metrics
from vae_passive.tfhub.exporter import write_model_folder


def per_metric(folder: Path, mode: str) -> None:
    settings = Settings(
        dataset="procedural_dsprites", metrics=parse_metrics("all"), preset="fast", classifier_defaults=mode
    )
    spent: dict[str, float] = {}
    last = [time.process_time(), ""]

    def progress(done: int, total: int, step: str) -> None:
        now = time.process_time()
        if last[1]:
            metric = str(last[1]).rsplit("/", 1)[-1]
            spent[metric] = spent.get(metric, 0.0) + now - float(last[0])
        last[:] = [now, step]

    started = time.process_time()
    analyze_model(locate_model(model_dir=folder), settings, metrics_progress=progress)
    print(f"{mode}: analyze_model {time.process_time() - started:.1f} CPU-s in all; per metric:")
    for metric, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {metric:50s} {seconds:6.1f}")


def wall(folder: Path, mode: str, repeats: int) -> None:
    """Median wall seconds of the command with and without the fast suite, alternating."""
    command = [
        sys.executable, "-m", "vae_passive", "analyze", "--model-dir", str(folder), "--data", "procedural_dsprites",
        "--classifier-defaults", mode,
    ]  # fmt: skip
    times: dict[str, list[float]] = {"kinds only": [], "--metrics all --preset fast": []}
    environment = {**os.environ, "VAE_PASSIVE_HOME": tempfile.mkdtemp()}
    for repeat in range(repeats):
        for label, extra in (
            ("kinds only", []),
            ("--metrics all --preset fast", ["--metrics", "all", "--preset", "fast"]),
        ):
            results = tempfile.mkdtemp()
            started = time.perf_counter()
            subprocess.run([*command, *extra, "--results", results], check=True, capture_output=True, env=environment)
            times[label].append(time.perf_counter() - started)
            print(f"  run {repeat + 1} {label}: {times[label][-1]:.1f} s wall", flush=True)
    reference = statistics.median(times["kinds only"])
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{label:30s} median {median:5.1f} s wall, {median / reference:4.2f}x the kinds-only run")


def main(arguments: list[str]) -> None:
    mode = arguments[0] if arguments and not arguments[0].startswith("--") else "2019"
    repeats = int(arguments[arguments.index("--wall") + 1]) if "--wall" in arguments else 0
    folder = write_model_folder(
        tempfile.mkdtemp(), 299, designed_weights(), dataset="dsprites_full", channels=1, num_latents=10
    )
    per_metric(folder, mode)
    if repeats:
        wall(folder, mode, repeats)


if __name__ == "__main__":
    main(sys.argv[1:])
