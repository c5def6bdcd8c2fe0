"""Peak memory and time of sampling 10,000 dSprites images from a real-size file.

Writes a dSprites npz of the published layout (``imgs`` uint8 737,280 x 64 x 64, about 3 GB, plus
``latents_classes``, ``latents_values``, ``metadata``) into a temporary folder, twice: with ``imgs``
deflated (as the published file is) and stored (memory-mappable). The sprites are the procedural
stand-in's, so the compressed size is realistic. Each layout is then measured in a fresh interpreter:
TensorFlow is imported first (the baseline), then ``draw_batches`` samples 10,000 images as the analysis
does. Reported: peak RSS (VmHWM) minus the RSS after importing TensorFlow, and the seconds taken.

    .venv/bin/python benchmarks/data.py [--folder /scratch]   # needs about 3.1 GB of free disk
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

GRID = (1, 3, 6, 40, 32, 32)
CHUNK = 8192
MEASURE = """
import json, sys, time
import numpy as np

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

from vae_passive.tfhub.runtime import tensorflow
tensorflow()
from vae_passive.analysis.analyze import DATA_BATCH_SIZE
from vae_passive.data import draw_batches
from vae_passive.data.dsprites import DSprites
baseline = status("VmRSS")
started = time.perf_counter()
data = DSprites(sys.argv[1])
data.images
loaded = time.perf_counter()
factors, images = draw_batches(data, 10_000, np.random.RandomState(2051556033), DATA_BATCH_SIZE)
done = time.perf_counter()
assert images.shape == (10_000, 64, 64, 1) and images.dtype == np.float32
print(json.dumps({"baseline_rss_mb": baseline / 2**20, "peak_beyond_baseline_mb": (status("VmHWM") - baseline) / 2**20,
                  "load_s": loaded - started, "sample_s": done - loaded, "store": type(data.images).__name__}))
"""


def _write_member(archive: zipfile.ZipFile, name: str, shape: tuple[int, ...], dtype, chunks) -> None:
    """An .npy member written chunk by chunk (never the whole array in memory)."""
    with archive.open(name, "w", force_zip64=True) as out:
        np.lib.format.write_array_header_1_0(
            out, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
        )
        for chunk in chunks:
            out.write(np.ascontiguousarray(chunk, dtype).tobytes())


def write_dsprites(path: Path, compression: int) -> None:
    """A real-size dSprites npz with upstream's keys."""
    from vae_passive.data.procedural import ProceduralDSprites

    renderer = ProceduralDSprites()
    count = int(np.prod(GRID))
    rows = np.stack(np.unravel_index(np.arange(count), GRID), axis=1)
    with zipfile.ZipFile(path, "w", compression=compression, allowZip64=True) as archive:
        images = (renderer.render(rows[start : start + CHUNK, 1:]) for start in range(0, count, CHUNK))
        _write_member(archive, "imgs.npy", (count, 64, 64), np.uint8, images)
        _write_member(archive, "latents_classes.npy", rows.shape, np.int64, [rows])
        _write_member(archive, "latents_values.npy", rows.shape, np.float64, [rows])
        with archive.open("metadata.npy", "w") as out:
            np.lib.format.write_array(out, np.array({"latents_sizes": np.array(GRID)}, dtype=object))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    free = shutil.disk_usage(args.folder).free
    if free < 3.5e9:
        sys.exit(f"{args.folder} has {free / 1e9:.1f} GB free; 3.5 GB are needed (pass --folder)")
    results = {}
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        for layout, compression in (("deflated (as published)", zipfile.ZIP_DEFLATED), ("stored", zipfile.ZIP_STORED)):
            path = Path(tmp) / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
            started = time.perf_counter()
            write_dsprites(path, compression)
            written = time.perf_counter() - started
            run = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True)
            result = json.loads(run.stdout.strip().splitlines()[-1])
            result.update(file_mb=path.stat().st_size / 2**20, write_s=written)
            results[layout] = {
                key: round(value, 2) if isinstance(value, float) else value for key, value in result.items()
            }
            print(f"{layout:<24} {json.dumps(results[layout])}", flush=True)
            path.unlink()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
