"""Encoding throughput, module load time, graph check time and weight-swap time on this machine.

    .venv/bin/python benchmarks/encode.py [--images 20000] [--loads 10] [--threads N]

Modules are written by the project's exporter (random weights, 1 channel, 10 latents), so no
download is needed. Throughput is also shown as a ratio to batch 16, the batch size of the
authors' pipeline, measured in the same run. The graph check (``check_module_graph``) is part of
every load and fingerprint; it is also timed alone, on the trained-model module and on the
postprocessed ``sampled`` module. A swap is timed two ways: ``Module.swap_weights`` (graph check, then
assign) and ``ModulePool.get``, what the runner's workers do for the next model of a loaded graph
(two graph fingerprints, then assign). ``--threads N`` gives TensorFlow N intra-op threads, as the
runner gives each worker (cores / jobs); without it TensorFlow uses every core.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from vae_passive.tfhub.architecture import random_weights
from vae_passive.tfhub.exporter import write_module, write_representation_module
from vae_passive.tfhub.graph_check import check_module_graph
from vae_passive.tfhub.module import Module, ModulePool, graph_fingerprint
from vae_passive.tfhub.runtime import tensorflow


def images_per_second(module: Module, images: np.ndarray, batch_size: int) -> float:
    module.encode(images[: batch_size * 2], batch_size=batch_size)  # warm-up
    start = time.perf_counter()
    module.encode(images, batch_size=batch_size)
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--threads", type=int, help="TensorFlow intra-op threads (default: every core)")
    args = parser.parse_args()
    tf = tensorflow()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [write_module(Path(tmp) / f"m{i}", random_weights(1, 10, seed=i), 1, 10) for i in range(args.loads + 1)]
        images = np.random.default_rng(0).random((args.images, 64, 64, 1), dtype=np.float32)
        module = Module(paths[0])
        rates = {bs: images_per_second(module, images, bs) for bs in (16, 64, 256, 1024)}

        load_times = []
        for path in paths[1:]:
            start = time.perf_counter()
            Module(path)
            load_times.append(time.perf_counter() - start)

        sampled = write_representation_module(Path(tmp) / "sampled", random_weights(1, 10), 1, 10, "sampled")
        check_times = {"module": [], "sampled": []}
        for _ in range(20):
            for kind, path in (("module", paths[0]), ("sampled", sampled)):
                start = time.perf_counter()
                check_module_graph(path)
                check_times[kind].append(time.perf_counter() - start)

        fingerprint_times, swap_times = [], []
        for path in paths[1:]:
            start = time.perf_counter()
            same = graph_fingerprint(path) == graph_fingerprint(module.path)
            fingerprint_times.append(time.perf_counter() - start)
            assert same
            start = time.perf_counter()
            module.swap_weights(path)
            swap_times.append(time.perf_counter() - start)

        pool, pool_times = ModulePool(), []
        pool.get(paths[0])
        for path in paths[1:]:
            start = time.perf_counter()
            pool.get(path)
            pool_times.append(time.perf_counter() - start)

    result = {
        "threads": args.threads,
        "images_per_second": {str(bs): round(rate) for bs, rate in rates.items()},
        "ratio_to_batch_16": {str(bs): round(rate / rates[16], 2) for bs, rate in rates.items()},
        "load_s_median": round(statistics.median(load_times), 4),
        "swap_s_median": round(statistics.median(swap_times[1:]), 4),
        "swap_s_first": round(swap_times[0], 4),
        "pool_swap_s_median": round(statistics.median(pool_times), 4),
        "fingerprint_check_s_median": round(statistics.median(fingerprint_times), 4),
        "graph_check_s_median": {kind: round(statistics.median(times), 4) for kind, times in check_times.items()},
        "graph_check_s_min": {kind: round(min(times), 4) for kind, times in check_times.items()},
    }
    for batch, rate in result["images_per_second"].items():
        print(f"encode  batch {batch:>4}: {rate:>7} images/s  ({result['ratio_to_batch_16'][batch]}x batch 16)")
    print(f"load    median {result['load_s_median']:.3f} s per module ({args.loads} modules)")
    print(f"swap    median {result['swap_s_median']:.4f} s (first {result['swap_s_first']:.4f} s)")
    print(f"pool    median {result['pool_swap_s_median']:.4f} s per swap (ModulePool.get of the next model)")
    print(f"check   median {result['fingerprint_check_s_median']:.4f} s for two graph fingerprints")
    checks, fastest = result["graph_check_s_median"], result["graph_check_s_min"]
    for kind, name in (("module", "trained-model module"), ("sampled", "postprocessed sampled module")):
        print(f"graph   median {checks[kind]:.4f} s, min {fastest[kind]:.4f} s: check of the {name}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
