"""Throughput of the batch analysis vs the naive loop, and a worker's memory over 300 models.

    .venv/bin/python benchmarks/zoo_throughput.py [--models 20] [--naive 4] [--jobs 2] [--memory-models 300]

1. ``vae-passive analyze``'s runner (``--jobs`` worker processes, one loaded module per graph with
   weights swapped in) on ``--models`` writer-made models at N = 10,000, both representations,
   all subsets.
2. The naive loop, as the authors' pipeline ran: a fresh Python process per model that imports
   TensorFlow, loads the module and encodes in batches of 16, then classifies and scores with the
   same functions; timed on ``--naive`` models and extrapolated per model.
3. Memory: one worker (this process) analyses ``--memory-models`` models (cycling over the folders,
   N = ``--memory-samples``); its RSS after 30 and after all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

NAIVE = textwrap.dedent(
    """
    import sys, numpy as np, tensorflow as tf
    from vae_passive.data import draw_batches, get_dataset
    from vae_passive.analysis.analyze import score_representations
    from vae_passive.latents.variables import classify, latent_statistics
    module = tf.saved_model.load(sys.argv[1], tags=[])
    encoder = module.signatures["gaussian_encoder"]
    _, images = draw_batches(get_dataset("procedural_dsprites", 1), 10000, np.random.RandomState(0))
    means, logvars = [], []
    for start in range(0, len(images), 16):
        out = encoder(images=tf.constant(images[start:start + 16]))
        means.append(out["mean"].numpy()); logvars.append(out["logvar"].numpy())
    mean, logvar = np.concatenate(means), np.concatenate(logvars)
    sampled = mean + np.exp(logvar / 2) * np.random.default_rng(0).standard_normal(mean.shape)
    score_representations({"mean": mean, "sampled": sampled}, classify(latent_statistics(mean, logvar)))
    """
)


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--naive", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--memory-models", type=int, default=300)
    parser.add_argument("--memory-samples", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VAE_PASSIVE_HOME"] = str(Path(tmp) / "home")
        os.environ["VAE_PASSIVE_OFFLINE"] = "1"
        from vae_passive.analysis.analyze import Settings
        from vae_passive.analysis.runner import run, run_task, tasks_for_ids
        from vae_passive.tfhub.architecture import random_weights
        from vae_passive.tfhub.exporter import write_model_folder
        from vae_passive.zoo.install import install_folder

        ids = list(range(args.models))
        for i in ids:
            folder = write_model_folder(
                Path(tmp) / "zoo",
                i,
                random_weights(1, 10, seed=i),
                dataset="dsprites_full",
                channels=1,
                num_latents=10,
                postprocessed=False,
            )
            install_folder(folder, i, "benchmark")

        settings = Settings(num_samples=10_000, dataset="procedural_dsprites")
        started = time.perf_counter()
        summary = run(tasks_for_ids(ids), settings, Path(tmp) / "results", jobs=args.jobs)
        ours_s = time.perf_counter() - started
        assert not summary.failed, summary.failed
        ours_per_hour = len(ids) * 3600 / ours_s

        started = time.perf_counter()
        for i in ids[: args.naive]:
            folder = Path(os.environ["VAE_PASSIVE_HOME"]) / "models" / str(i) / "model" / "tfhub"
            subprocess.run([sys.executable, "-c", NAIVE, str(folder)], check=True, capture_output=True)
        naive_per_model = (time.perf_counter() - started) / args.naive
        naive_per_hour = 3600 / naive_per_model

        memory_settings = Settings(num_samples=args.memory_samples, dataset="procedural_dsprites")
        tasks = tasks_for_ids(ids)
        rss = {}
        for n in range(1, args.memory_models + 1):
            outcome = run_task(tasks[n % len(tasks)], memory_settings)
            assert outcome.error is None, outcome.error
            if n in (30, args.memory_models):
                rss[n] = rss_mib()

    result = {
        "models": len(ids),
        "jobs": args.jobs,
        "ours_models_per_hour": round(ours_per_hour),
        "naive_models_per_hour": round(naive_per_hour),
        "ratio": round(ours_per_hour / naive_per_hour, 2),
        "projected_hours_for_9000": round(9000 / ours_per_hour, 2),
        "naive_projected_hours_for_9000": round(9000 / naive_per_hour, 2),
        "worker_rss_mib": {str(k): round(v, 1) for k, v in rss.items()},
        "rss_growth_30_to_last": round(rss[args.memory_models] / rss[30] - 1, 4),
    }
    for label, rate, hours in (
        (f"ours  ({args.jobs} jobs)", result["ours_models_per_hour"], result["projected_hours_for_9000"]),
        ("naive (batch 16)", result["naive_models_per_hour"], result["naive_projected_hours_for_9000"]),
    ):
        print(f"{label:<17} {rate:>6} models/h -> 9,000 models in {hours} h")
    print(f"ratio: {result['ratio']}x")
    print(
        f"worker RSS after 30 / {args.memory_models} models: {rss[30]:.0f} / {rss[args.memory_models]:.0f} MiB "
        f"({result['rss_growth_30_to_last']:+.1%})"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
