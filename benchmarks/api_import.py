"""What ``import vae_passive`` and ``vae-passive analyze --codes`` cost, in fresh processes.

    .venv/bin/python benchmarks/api_import.py [--repeats 5] [--num-samples 10000]

Each figure is the median of ``--repeats`` fresh interpreters: ``python -c pass`` (the interpreter
alone), ``import numpy``, ``import vae_passive`` (timed inside the process, and which heavy
packages it loaded: none is the goal), and the command ``vae-passive analyze --codes FILE`` on a
10,000 x 10 codes file, as wall time and as the analysis's own ``provenance.elapsed_s``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HEAVY = ("tensorflow", "pandas", "matplotlib", "sklearn", "scipy")
IMPORT_API = (
    "import sys, time; t = time.perf_counter(); import vae_passive; s = time.perf_counter() - t; "
    f"print(s, [m for m in {HEAVY!r} if m in sys.modules])"
)


def wall(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--num-samples", type=int, default=10_000)
    args = parser.parse_args()
    python = sys.executable
    runs: dict[str, list[float]] = {"python -c pass": [], "import numpy": [], "import vae_passive (in process)": []}
    runs |= {"analyze --codes (wall)": [], "analyze --codes (provenance.elapsed_s)": []}
    heavy: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        codes = Path(tmp) / "codes.npz"
        np.savez(codes, mean=rng.normal(size=(args.num_samples, 10)), logvar=rng.normal(size=(args.num_samples, 10)))
        for i in range(args.repeats):
            runs["python -c pass"].append(wall([python, "-c", "pass"]))
            runs["import numpy"].append(wall([python, "-c", "import numpy"]))
            out = subprocess.run([python, "-c", IMPORT_API], check=True, capture_output=True, text=True).stdout
            seconds, loaded = out.split(" ", 1)
            runs["import vae_passive (in process)"].append(float(seconds))
            heavy |= set(json.loads(loaded.replace("'", '"')))
            results = Path(tmp) / f"results{i}"
            command = [python, "-m", "vae_passive", "analyze", "--codes", str(codes), "--results", str(results)]
            runs["analyze --codes (wall)"].append(wall(command))
            [document] = results.glob("*/analysis.json")
            runs["analyze --codes (provenance.elapsed_s)"].append(
                json.loads(document.read_text())["provenance"]["elapsed_s"]
            )
    median = {name: round(statistics.median(times), 3) for name, times in runs.items()}
    for name, seconds in median.items():
        print(f"{name:<40} {seconds:6.3f} s")
    print(f"heavy packages loaded by import vae_passive: {sorted(heavy) or 'none'}")
    print(json.dumps({"repeats": args.repeats, "median_s": median, "heavy_loaded": sorted(heavy)}))


if __name__ == "__main__":
    main()
