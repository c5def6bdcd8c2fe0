"""Sampling equals disentanglement_lib's for fixed seeds: factors, image indices and images.

``tests/reference/golden/data_sampling.json`` was written by ``tests/reference/data_golden.py``,
which runs upstream's own data classes (disentanglement_lib 1.5) on the files of ``data_files``.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from support.data_files import write_dsprites, write_scream, write_smallnorb

from vae_passive.data import draw_batches
from vae_passive.data.cars3d import Cars3D
from vae_passive.data.dsprites import ColorDSprites, DSprites, NoisyDSprites, ScreamDSprites
from vae_passive.data.mpi3d import MPI3D
from vae_passive.data.shapes3d import Shapes3D
from vae_passive.data.smallnorb import SmallNORB

GOLDEN = json.loads((Path(__file__).parents[1] / "reference" / "golden" / "data_sampling.json").read_text())
NUM, BATCH, SEEDS = GOLDEN["num"], GOLDEN["batch"], GOLDEN["seeds"]
SMALL_GRID = (1, 3, 2, 4, 2, 2)


@pytest.fixture(scope="module")
def sprites(tmp_path_factory):
    return DSprites(write_dsprites(tmp_path_factory.mktemp("d") / "dsprites.npz"), grid=SMALL_GRID)


def digest(images: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(images, np.float32).tobytes()).hexdigest()


@pytest.mark.parametrize("name", ["dsprites_full", "color_dsprites", "noisy_dsprites", "scream_dsprites"])
def test_dsprites_family_matches_upstream(name, sprites, tmp_path):
    data = {
        "dsprites_full": lambda: sprites,
        "color_dsprites": lambda: ColorDSprites(sprites),
        "noisy_dsprites": lambda: NoisyDSprites(sprites),
        "scream_dsprites": lambda: ScreamDSprites(sprites, write_scream(tmp_path / "scream.jpg")),
    }[name]()
    for seed in SEEDS:
        factors, images = draw_batches(data, NUM, np.random.RandomState(seed), BATCH)
        expected = GOLDEN[name][str(seed)]
        assert factors.tolist() == expected["factors"]
        assert images.dtype == np.float32 and images.shape == (NUM, *data.observation_shape)
        assert digest(images) == expected["images_sha256"]


def draw_indices(data, seed: int) -> tuple[list, list]:
    """Factors and image indices drawn as ``draw_batches`` draws them (batches of 16)."""
    random_state = np.random.RandomState(seed)
    factors, indices = [], []
    for start in range(0, NUM, BATCH):
        batch = data.sample_factors(min(BATCH, NUM - start), random_state)
        factors += batch.tolist()
        indices += data.sample_indices(batch, random_state).tolist()
    return factors, indices


@pytest.mark.parametrize("name", ["cars3d", "shapes3d", "mpi3d_toy", "mpi3d_real", "smallnorb"])
def test_fixed_image_sets_match_upstream(name, tmp_path):
    data = {
        "cars3d": lambda: Cars3D(tmp_path),
        "shapes3d": lambda: Shapes3D(tmp_path / "3dshapes.h5"),
        "mpi3d_toy": lambda: MPI3D("mpi3d_toy", tmp_path / "x.npz"),
        "mpi3d_real": lambda: MPI3D("mpi3d_real", tmp_path / "x.npz"),
        "smallnorb": lambda: SmallNORB(sorted(write_smallnorb(tmp_path / "norb").iterdir(), key=_norb_order)),
    }[name]()
    for seed in SEEDS:
        factors, indices = draw_indices(data, seed)
        assert factors == GOLDEN[name][str(seed)]["factors"]
        assert indices == GOLDEN[name][str(seed)]["indices"]


def _norb_order(path: Path) -> tuple[int, int]:
    """training before testing; dat, cat, info."""
    return ("testing" in path.name, ["dat", "cat", "info"].index(path.name.split("-")[-1].removesuffix(".mat")))


def test_draw_batches_draws_the_same_factors_for_fixed_and_noisy_sets(sprites):
    """The fast path (factors first, images once) and the per-batch path agree with the golden factors."""
    for data, name in ((sprites, "dsprites_full"), (NoisyDSprites(sprites), "noisy_dsprites")):
        factors, _ = draw_batches(data, NUM, np.random.RandomState(SEEDS[0]), BATCH)
        assert factors.tolist() == GOLDEN[name][str(SEEDS[0])]["factors"]
