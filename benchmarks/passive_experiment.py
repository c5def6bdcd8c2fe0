"""The study's phenomenon on models trained here: beta = 16 grows passive latents, beta = 1 fewer.

    .venv/bin/python benchmarks/passive_experiment.py [--steps 3000] [--seeds 0 1] [--num-samples 10000]

Trains dsprites_full beta_vae models with beta = 1 (ids 0 + seed) and beta = 16 (ids 250 + seed)
on procedural dSprites for ``--steps`` steps (far fewer than the published 300,000), analyses each
at N = ``--num-samples`` and prints, per model, the active / passive / mixed counts and the mean
vs sampled total correlation of the passive subset and of the full code. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from vae_passive.analysis.analyze import Settings, analyze_model, locate_model
from vae_passive.data import get_dataset
from vae_passive.training.train import TrainConfig, train


def tc(document: dict, representation: str, subset: str) -> float | None:
    for row in document["scores"]:
        if row["representation"] == representation and row["subset"] == subset:
            return row["gaussian_total_correlation"]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--num-samples", type=int, default=10_000)
    args = parser.parse_args()
    data = get_dataset("procedural_dsprites", 1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for beta_level, beta in ((0, 1), (5, 16)):
            for seed in args.seeds:
                model_id = 50 * beta_level + seed
                started = time.perf_counter()
                folder = train(TrainConfig.for_model(model_id, data, args.steps, 64), data, Path(tmp))
                seconds = time.perf_counter() - started
                doc = analyze_model(locate_model(model_dir=folder), Settings(num_samples=args.num_samples)).document
                row = {
                    "model": model_id,
                    "beta": beta,
                    "seed": seed,
                    "steps": args.steps,
                    "train_s": round(seconds, 1),
                    **doc["counts"],
                    "tc_passive_mean": tc(doc, "mean", "passive"),
                    "tc_passive_sampled": tc(doc, "sampled", "passive"),
                    "tc_full_mean": tc(doc, "mean", "full"),
                    "tc_full_sampled": tc(doc, "sampled", "full"),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"\n{'beta':>4} {'seed':>4} {'active':>6} {'passive':>7} {'mixed':>5} {'TC passive mean/sampled':>24}")
    for r in rows:
        pair = (
            f"{r['tc_passive_mean']:.3f} / {r['tc_passive_sampled']:.3f}" if r["tc_passive_mean"] is not None else "n/a"
        )
        print(f"{r['beta']:>4} {r['seed']:>4} {r['active']:>6} {r['passive']:>7} {r['mixed']:>5} {pair:>24}")


if __name__ == "__main__":
    main()
