"""Training steps per second on this machine, per method, at the spec's batch size.

    .venv/bin/python benchmarks/train.py [--steps 100] [--batch-size 64]

Each method trains model ``dsprites_full / <method> / level 5 / seed 0`` on procedural dSprites;
the first 10 steps (tracing, warm-up) are not timed. The ratio column compares each method with
beta_vae, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from vae_passive.data import get_dataset
from vae_passive.training.train import TrainConfig, train
from vae_passive.zoo.catalogue import METHOD_NAMES, model_id

WARMUP = 10


def steps_per_second(method: str, steps: int, batch_size: int, root: Path) -> float:
    data = get_dataset("procedural_dsprites", 1)
    config = TrainConfig.for_model(model_id("dsprites_full", method, 5, 0), data, WARMUP + steps, batch_size)
    train(config, data, root, stop_after=WARMUP, checkpoint_every=10**9)
    started = time.perf_counter()
    train(config, data, root, stop_after=steps, checkpoint_every=10**9)
    return steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for method in METHOD_NAMES:
            rates[method] = steps_per_second(method, args.steps, args.batch_size, Path(tmp))
            print(f"{method:<13} {rates[method]:6.1f} steps/s  ({rates[method] / rates['beta_vae']:.2f}x beta_vae)")
    hours = {m: round(300_000 / r / 3600, 1) for m, r in rates.items()}
    print(json.dumps({"batch_size": args.batch_size, "steps_per_second": rates, "hours_for_300k_steps": hours}))


if __name__ == "__main__":
    main()
