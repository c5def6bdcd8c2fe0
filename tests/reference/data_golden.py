"""Write the sampling golden file from disentanglement_lib's own data classes.

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install disentanglement-lib==1.5 --no-deps
    .venv/bin/python tests/reference/data_golden.py /tmp/refenv/lib/python3.11/site-packages

Only the ``disentanglement_lib`` package is taken from that folder; numpy, scipy, Pillow and
scikit-learn are this project's. TensorFlow is stubbed (``gfile`` opens local files; the directory
listing is sorted, as the project sorts Cars3D's files), ``PIL.Image.ANTIALIAS`` is Lanczos (its
name before Pillow 10), ``thumbnail`` ignores a third size element (Pillow 6 did) and smallNORB's
header reader gets scalars where numpy 2 no longer converts a one-element array. Upstream reads
dSprites' grid from the file's metadata, so the small files of ``tests/support/data_files.py`` load as they
are. For the large fixed-image sets (smallNORB, Cars3D, Shapes3D, MPI3D) the stored images are
replaced by an object that echoes the requested indices, so the file records upstream's factors and
image indices. The output, ``tests/reference/golden/data_sampling.json``, is compared by
``tests/data/test_data_sampling.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from support import data_files  # noqa: E402

OUT = HERE / "golden" / "data_sampling.json"
SEEDS = (0, 2051556033)
NUM = 40
BATCH = 16


def _stub_tensorflow() -> None:
    gfile = types.SimpleNamespace(
        Open=open, GFile=open, exists=os.path.exists, ListDirectory=lambda path: sorted(os.listdir(path))
    )
    tf = types.ModuleType("tensorflow")
    tf.__path__ = []
    tf.gfile = gfile
    tf.io = types.SimpleNamespace(gfile=gfile)
    tf.compat = types.ModuleType("tensorflow.compat")
    tf.compat.__path__ = []
    tf.compat.v1 = tf
    sys.modules.update({"tensorflow": tf, "tensorflow.compat": tf.compat, "tensorflow.compat.v1": tf})
    from PIL import Image

    Image.ANTIALIAS = Image.Resampling.LANCZOS
    original = Image.Image.thumbnail
    Image.Image.thumbnail = lambda self, size, *args, **kwargs: original(self, tuple(size)[:2], *args, **kwargs)


class OneScalarNumpy:
    """numpy, except that a one-element ``frombuffer`` is a scalar (numpy 2 refuses ``int()`` of a 1-d array)."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def frombuffer(*args, **kwargs):
        array = np.frombuffer(*args, **kwargs)
        return array[0] if array.shape == (1,) else array


class IndexEcho:
    """Stands in for a stored image array: indexing returns the indices, as float (N, 1, 1)."""

    def __init__(self, shape=(1,)):
        self.shape = shape

    def reshape(self, *args):
        return self

    def astype(self, *args):
        return self

    def __truediv__(self, other):
        return self

    def __getitem__(self, indices):
        return np.asarray(indices, np.float64)[:, None, None]


def draw(data, seed: int):
    """Factors and observations as upstream's metrics draw them: ``sample`` in batches of 16."""
    random_state = np.random.RandomState(seed)
    factors, observations = [], []
    while sum(map(len, factors)) < NUM:
        f, o = data.sample(min(BATCH, NUM - sum(map(len, factors))), random_state)
        factors.append(f)
        observations.append(o)
    return np.concatenate(factors), np.concatenate(observations)


def record(data, transform) -> dict:
    out = {}
    for seed in SEEDS:
        factors, observations = draw(data, seed)
        out[str(seed)] = {"factors": factors.tolist(), **transform(observations)}
    return out


def images_digest(observations) -> dict:
    return {"images_sha256": hashlib.sha256(np.ascontiguousarray(observations, np.float32).tobytes()).hexdigest()}


def indices(observations) -> dict:
    return {"indices": np.asarray(observations).reshape(len(observations), -1)[:, 0].astype(np.int64).tolist()}


def main() -> None:
    sys.path.insert(0, sys.argv[1])
    _stub_tensorflow()
    from disentanglement_lib.data.ground_truth import cars3d, dsprites, mpi3d, norb, shapes3d

    from vae_passive.data.dsprites import load_scream

    golden: dict = {"num": NUM, "batch": BATCH, "seeds": list(SEEDS)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dsprites.DSPRITES_PATH = str(data_files.write_dsprites(root / "dsprites.npz"))
        scream_path = data_files.write_scream(root / "scream.jpg")
        golden["dsprites_full"] = record(dsprites.DSprites([1, 2, 3, 4, 5]), images_digest)
        golden["color_dsprites"] = record(dsprites.ColorDSprites([1, 2, 3, 4, 5]), images_digest)
        golden["noisy_dsprites"] = record(dsprites.NoisyDSprites([1, 2, 3, 4, 5]), images_digest)
        scream = dsprites.ColorDSprites([1, 2, 3, 4, 5])  # ScreamDSprites' own __init__, minus reading the JPEG
        scream.__class__ = dsprites.ScreamDSprites
        scream.scream = load_scream(scream_path)  # the recipe is compared on the same shrunk image
        golden["scream_dsprites"] = record(scream, images_digest)

        norb_folder = data_files.write_smallnorb(root / "small_norb")
        norb.np = OneScalarNumpy()
        features = []
        for chunk in ("smallnorb-5x46789x9x18x6x2x96x96-training", "smallnorb-5x01235x9x18x6x2x96x96-testing"):
            cat = norb._read_binary_matrix(str(norb_folder / f"{chunk}-cat.mat"))
            info = norb._read_binary_matrix(str(norb_folder / f"{chunk}-info.mat"))
            features.append(np.column_stack((cat, info)))
        norb._load_small_norb_chunks = lambda *args: (
            IndexEcho(),
            (lambda f: (f.__setitem__((slice(None), 3), f[:, 3] / 2), f)[1])(np.concatenate(features)),
        )
        golden["smallnorb"] = record(norb.SmallNORB(), indices)

        cars3d.Cars3D._load_data = lambda self: IndexEcho()
        golden["cars3d"] = record(cars3d.Cars3D(), indices)

        class Numpy:
            """numpy, except that ``load`` hands out index-echoing images."""

            def __getattr__(self, name):
                return getattr(np, name)

            @staticmethod
            def load(*args, **kwargs):
                return {"images": IndexEcho((10, 10, 10, 8, 4, 15, 64, 64, 3)), "labels": IndexEcho((480_000, 6))}

        shapes3d.np = Numpy()
        empty = lambda *args: open(os.devnull, "rb")  # noqa: E731, SIM115  (upstream closes it)
        shapes3d.tf.gfile = types.SimpleNamespace(GFile=empty)
        golden["shapes3d"] = record(shapes3d.Shapes3D(), indices)
        mpi3d.np = Numpy()
        mpi3d.tf.io.gfile = types.SimpleNamespace(exists=lambda path: True, GFile=empty)
        scaled = lambda observations: indices(np.rint(observations * 255))  # noqa: E731  (MPI3D divides by 255)
        golden["mpi3d_toy"] = record(mpi3d.MPI3D("mpi3d_toy"), scaled)
        golden["mpi3d_real"] = record(mpi3d.MPI3D("mpi3d_real"), scaled)

    import disentanglement_lib

    golden["source"] = f"disentanglement_lib {getattr(disentanglement_lib, '__version__', '1.5')} (data/ground_truth)"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(golden) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
