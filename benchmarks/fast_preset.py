"""CPU seconds of ``analyze --metrics all --preset fast`` on one model, per metric.

    PYTHONPATH=. python benchmarks/fast_preset.py [2019|current]

The exporter's designed 10-latent model (``tests/support/designed.py``) on procedural dSprites, one
process (``--jobs 1``). CPU seconds of this process, so that a busy machine does not inflate them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.designed import designed_weights

from vae_passive.analysis.analyze import Settings, analyze_model, locate_model
from vae_passive.metrics.registry import parse_metrics
from vae_passive.tfhub.exporter import write_model_folder


def main(mode: str) -> None:
    weights = designed_weights()
    folder = write_model_folder(tempfile.mkdtemp(), 299, weights, dataset="dsprites_full", channels=1, num_latents=10)
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
        print(f"{done}/{total} {step} {now:.1f} CPU-s", flush=True)

    started = time.process_time()
    analyze_model(locate_model(model_dir=folder), settings, metrics_progress=progress)
    print(f"{mode}: {time.process_time() - started:.1f} CPU-s in all")
    for metric, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {metric:50s} {seconds:6.1f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "2019")
