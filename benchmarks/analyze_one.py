"""Wall time of the paper's analysis for one model at N = 10,000, split by stage.

    .venv/bin/python benchmarks/analyze_one.py [--num-samples 10000] [--repeats 3]

The model is written by the project's exporter (random weights, 1 channel, 10 latents); data are
procedural dSprites. Stages: load (module), data (draw factors, render), encode (mean, logvar,
sampled), classify (statistics and kinds), scores (both representations, all subsets). The
median of ``--repeats`` runs is shown, after one warm-up run that pays for imports.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from vae_passive.analysis.analyze import DATA_BATCH_SIZE, ENCODE_BATCH_SIZE, score_representations
from vae_passive.data import draw_batches, get_dataset
from vae_passive.latents.representations import sampled_representation
from vae_passive.latents.variables import Rule, classify, latent_statistics
from vae_passive.tfhub.architecture import random_weights
from vae_passive.tfhub.exporter import write_model_folder
from vae_passive.tfhub.module import Module


def one_run(folder: Path, num_samples: int, seed: int) -> dict[str, float]:
    times: dict[str, float] = {}
    tick = time.perf_counter()
    module = Module(folder)
    times["load"] = time.perf_counter() - tick

    tick = time.perf_counter()
    _, images = draw_batches(
        get_dataset("procedural_dsprites", 1), num_samples, np.random.RandomState(seed), DATA_BATCH_SIZE
    )
    times["data"] = time.perf_counter() - tick

    tick = time.perf_counter()
    codes = module.encode(images, batch_size=ENCODE_BATCH_SIZE)
    sampled = sampled_representation(codes.mean, codes.logvar, np.random.default_rng(seed))
    times["encode"] = time.perf_counter() - tick

    tick = time.perf_counter()
    kinds = classify(latent_statistics(codes.mean, codes.logvar), Rule())
    times["classify"] = time.perf_counter() - tick

    tick = time.perf_counter()
    score_representations({"mean": codes.mean, "sampled": sampled}, kinds)
    times["scores"] = time.perf_counter() - tick
    times["total"] = sum(times.values())
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folders = [
            write_model_folder(
                Path(tmp), i, random_weights(1, 10, seed=i), dataset="dsprites_full", channels=1, num_latents=10
            )
            for i in range(args.repeats + 1)
        ]
        one_run(folders[0], args.num_samples, 0)  # warm-up: imports, templates, first graph
        runs = [one_run(folder, args.num_samples, i) for i, folder in enumerate(folders[1:], start=1)]
    median = {stage: round(statistics.median(run[stage] for run in runs), 3) for stage in runs[0]}
    for stage, seconds in median.items():
        print(f"{stage:<9} {seconds:6.3f} s")
    print(json.dumps({"num_samples": args.num_samples, "repeats": args.repeats, "median_s": median}))


if __name__ == "__main__":
    main()
