"""Wall time of ``analyze`` for one model at N = 10,000, split by stage: the real path, not a copy of it.

    .venv/bin/python benchmarks/analyze_one.py [--num-samples 10000] [--repeats 3]

Each run is what ``vae-passive analyze --model-dir FOLDER`` does after its imports:
``analyze_model(locate_model(model_dir=...), Settings(...))`` then ``write_results``. The stages are
the ones ``analyze_model`` records in the document's ``provenance.timings_s`` (load, data, encode,
classify_and_score), plus ``write`` (the document, atomically) timed here; ``total`` is the wall time
of both calls. The model is written by the project's exporter (random weights, 1 channel, 10 latents)
and records procedural dSprites as its training data, so no download is needed. The median of
``--repeats`` runs is shown, after one warm-up run that pays for imports.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from vae_passive.analysis.analyze import Settings, analyze_model, locate_model, write_results
from vae_passive.tfhub.architecture import random_weights
from vae_passive.tfhub.exporter import write_model_folder

STAND_IN = {"vae_passive.training_data": "procedural_dsprites"}


def one_run(folder: Path, results: Path, num_samples: int, seed: int) -> dict[str, float]:
    started = time.perf_counter()
    result = analyze_model(locate_model(model_dir=folder), Settings(num_samples=num_samples, seed=seed))
    tick = time.perf_counter()
    write_results(results, result)
    times = dict(result.document["provenance"]["timings_s"])
    times["write"] = time.perf_counter() - tick
    times["total"] = time.perf_counter() - started
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folders = [
            write_model_folder(
                Path(tmp) / "zoo",
                i,
                random_weights(1, 10, seed=i),
                dataset="dsprites_full",
                channels=1,
                num_latents=10,
                gin_bindings=STAND_IN,
            )
            for i in range(args.repeats + 1)
        ]
        results = Path(tmp) / "results"
        one_run(folders[0], results, args.num_samples, 0)  # warm-up: imports, templates, first graph
        runs = [one_run(folder, results, args.num_samples, i) for i, folder in enumerate(folders[1:], start=1)]
    median = {stage: round(statistics.median(run[stage] for run in runs), 3) for stage in runs[0]}
    for stage, seconds in median.items():
        print(f"{stage:<18} {seconds:6.3f} s")
    print(json.dumps({"num_samples": args.num_samples, "repeats": args.repeats, "median_s": median}))


if __name__ == "__main__":
    main()
