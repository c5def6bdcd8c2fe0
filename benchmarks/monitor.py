"""Cost of ``vae_passive.TrainingMonitor.log`` on 10,000 x 10 codes, and of the TensorBoard writers' imports.

    .venv/bin/python benchmarks/monitor.py [--num-samples 10000] [--latents 10] [--steps 300]

Logs ``--steps`` steps of fresh random codes (half the latents near the prior) into a temporary
folder, with and without TensorBoard events, and prints per-log wall times: the first log, then the
median and maximum of the rest (the tables grow with the steps, so the last logs are the dearest), in
wall and in CPU seconds (the CPU time is what other work on a shared machine cannot inflate; the
machine's load average is printed too).
Also times, in fresh processes, importing what the monitor's event writer needs (tensorboard's protos
and summary builders) against importing TensorFlow, whose writer ``tf.summary`` is the alternative,
and checks that logging never loaded TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import vae_passive


def log_times(
    folder: Path, steps: int, num_samples: int, latents: int, tensorboard: bool
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each log (CPU time is what a busy machine's other work cannot inflate)."""
    rng = np.random.default_rng(0)
    times, cpu = [], []
    with vae_passive.TrainingMonitor(folder, tensorboard=tensorboard) as monitor:
        for step in range(steps):
            mean = rng.normal(size=(num_samples, latents))
            logvar = np.full((num_samples, latents), -4.0)
            mean[:, latents // 2 :] *= 0.01
            logvar[:, latents // 2 :] = -0.01
            tick, cpu_tick = time.perf_counter(), time.process_time()
            monitor.log(step * 1000, mean, logvar, losses={"reconstruction": 50.0, "kl": 20.0})
            times.append(time.perf_counter() - tick)
            cpu.append(time.process_time() - cpu_tick)
    return times, cpu


def import_seconds(statement: str) -> float:
    """Seconds to run ``statement`` in a fresh interpreter, less the interpreter's own start."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--latents", type=int, default=10)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    result: dict = {"num_samples": args.num_samples, "latents": args.latents, "steps": args.steps}
    result["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        for tensorboard in (False, True):
            folder = Path(tmp) / f"run_{tensorboard}"
            times, cpu = log_times(folder, args.steps, args.num_samples, args.latents, tensorboard)
            result["with_events" if tensorboard else "tables_only"] = {
                "first_log_s": round(times[0], 4),
                "median_log_s": round(statistics.median(times[1:]), 4),
                "max_log_s": round(max(times[1:]), 4),
                "last_10_median_s": round(statistics.median(times[-10:]), 4),
                "median_log_cpu_s": round(statistics.median(cpu[1:]), 4),
                "last_10_median_cpu_s": round(statistics.median(cpu[-10:]), 4),
            }
    result["tensorflow_loaded"] = "tensorflow" in sys.modules
    result["import_tensorboard_writer_s"] = round(
        import_seconds(
            "from tensorboard.compat.proto import event_pb2; "
            "from tensorboard.plugins.histogram.summary_v2 import histogram_pb; "
            "from tensorboard.summary.writer.record_writer import RecordWriter"
        ),
        3,
    )
    result["import_tensorflow_s"] = round(import_seconds("import tensorflow"), 3)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
