"""Training throughput of several models at once: total models x steps per second by core split, and fp32 vs bf16.

    .venv/bin/python benchmarks/train_fleet.py [--steps 60] [--batch-size 64] [--splits 1x2,2x1] [--mini-study]

Each split JxT starts J spawned processes of T TensorFlow threads (``tfhub.runtime.limit_threads``, what
``train --jobs J`` gives each process), each training its own beta_vae of ``dsprites_full`` on procedural
dSprites; after a warm-up (tracing) they wait for each other, then time ``--steps`` iterations together.
The figure is the sum of their iterations over the slowest one's wall time. Then, in one process with all
cores, the same model's iterations/s in fp32 and in bf16 (``--precision``), alternately, ``--rounds`` times
(medians). With ``--mini-study``, last, the wall time of ``vae-passive demo --mini-study`` from an empty
folder (19 minutes on 2 cores, measured; ``--rounds 0`` times only that). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vae_passive.training.demo import DEMO_STEPS

WARMUP = 5


def _worker(index: int, threads: int, steps: int, batch_size: int, precision: str, barrier, results) -> None:
    from vae_passive.data import get_dataset
    from vae_passive.tfhub.runtime import limit_threads
    from vae_passive.training.train import TrainConfig, train
    from vae_passive.zoo.catalogue import model_id

    limit_threads(threads)
    data = get_dataset("procedural_dsprites", 1)
    config = TrainConfig.for_model(
        model_id("dsprites_full", "beta_vae", 0, index), data, 10**6, batch_size, precision=precision
    )
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VAE_PASSIVE_HOME"] = tmp
        train(config, data, Path(tmp), stop_after=WARMUP, checkpoint_every=10**9)
        barrier.wait()
        started = time.perf_counter()
        train(config, data, Path(tmp), stop_after=steps, checkpoint_every=10**9)
        results.put(time.perf_counter() - started)


def split_throughput(jobs: int, threads: int, steps: int, batch_size: int, precision: str = "fp32") -> float:
    """Total iterations per second of ``jobs`` processes of ``threads`` threads training at once."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(jobs), context.Queue()
    processes = [
        context.Process(target=_worker, args=(i, threads, steps, batch_size, precision, barrier, results))
        for i in range(jobs)
    ]
    for process in processes:
        process.start()
    seconds = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return jobs * steps / max(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--splits", default=f"1x{os.cpu_count()},{os.cpu_count()}x1")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mini-study", action="store_true", help="also time `vae-passive demo --mini-study`")
    parser.add_argument("--mini-study-steps", type=int, help="its --steps [the demo's 3,000]; fewer for a smoke run")
    args = parser.parse_args()
    split_rounds: dict[str, list[float]] = {split: [] for split in args.splits.split(",")}
    for _ in range(args.rounds):  # alternately, so that a busy spell of the machine hits each split alike
        for split, rates in split_rounds.items():
            jobs, threads = map(int, split.split("x"))
            rates.append(split_throughput(jobs, threads, args.steps, args.batch_size))
            print(f"{split}: {rates[-1]:.2f} models x iterations/s", flush=True)
    splits = {split: round(statistics.median(rates), 2) for split, rates in split_rounds.items() if rates}
    precision: dict[str, list[float]] = {"fp32": [], "bf16": []}
    cores = os.cpu_count() or 1
    for _ in range(args.rounds):
        for name in precision:
            precision[name].append(split_throughput(1, cores, args.steps, args.batch_size, name))
    medians = {name: round(statistics.median(rates), 2) for name, rates in precision.items() if rates}
    if medians:
        print(f"one process, {cores} threads: fp32 {medians['fp32']}, bf16 {medians['bf16']} iterations/s", flush=True)
    facts = {"cpu_count": cores, "batch_size": args.batch_size, "steps": args.steps, "load_average": os.getloadavg()}
    if args.mini_study:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            command = [sys.executable, "-m", "vae_passive", "demo", "--mini-study", "--out", folder]
            command += ["--steps", str(args.mini_study_steps)] if args.mini_study_steps else []
            subprocess.run(command, check=True, stdout=sys.stderr)
            facts["mini_study_s"] = round(time.perf_counter() - started, 1)
        facts["mini_study_steps"] = args.mini_study_steps or DEMO_STEPS
        print(f"vae-passive demo --mini-study: {facts['mini_study_s']:.0f} s wall", flush=True)
    rounds = {"split_rounds": split_rounds, "precision_rounds": precision}
    print(json.dumps({**facts, "splits": splits, "precision": medians, **rounds}))


if __name__ == "__main__":
    main()
