"""Each published format, on small files written here: shapes, dtypes, range, factor <-> image, errors."""

import numpy as np
import pytest
from support.data_files import (
    DSPRITES_GRID,
    MPI3D_GRID,
    SHAPES3D_GRID,
    decode_bits,
    decode_rgb,
    write_cars,
    write_dsprites,
    write_mpi3d,
    write_scream,
    write_shapes3d_h5,
    write_smallnorb,
)

from vae_passive.data.base import mixed_radix_index
from vae_passive.data.cars3d import Cars3D
from vae_passive.data.dsprites import ColorDSprites, DSprites, NoisyDSprites, ScreamDSprites
from vae_passive.data.images import ArrayImages, FileRows, PackedBinaryImages
from vae_passive.data.mpi3d import MPI3D
from vae_passive.data.shapes3d import Shapes3D
from vae_passive.data.smallnorb import SmallNORB, read_norb_matrix
from vae_passive.errors import VaePassiveError

RS = np.random.RandomState


def check_images(images: np.ndarray, shape) -> None:
    assert images.dtype == np.float32 and images.shape[1:] == tuple(shape)
    assert images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("compressed", [False, True])
def test_dsprites_npz_stored_and_compressed(tmp_path, compressed):
    data = DSprites(write_dsprites(tmp_path / "d.npz", compressed=compressed), grid=DSPRITES_GRID)
    assert isinstance(data.images, PackedBinaryImages if compressed else FileRows)
    factors, images = data.sample(50, RS(1))
    check_images(images, (64, 64, 1))
    assert set(np.unique(images)) == {0.0, 1.0}
    full = np.column_stack([np.zeros(50, np.int64), factors])
    assert np.array_equal(decode_bits(images), mixed_radix_index(full, DSPRITES_GRID))
    everything = data.images_at(np.arange(data.num_images))
    assert np.array_equal(decode_bits(everything), np.arange(96))


def test_dsprites_variants(tmp_path):
    sprites = DSprites(write_dsprites(tmp_path / "d.npz"), grid=DSPRITES_GRID)
    grey = sprites.sample(20, RS(3))[1]
    for variant in (
        ColorDSprites(sprites),
        NoisyDSprites(sprites),
        ScreamDSprites(sprites, write_scream(tmp_path / "s.jpg")),
    ):
        assert variant.deterministic_observations is False and variant.real
        factors, images = variant.sample(20, RS(3))
        check_images(images, (64, 64, 3))
        assert np.array_equal(factors, sprites.sample_factors(20, RS(3)))
    colour = ColorDSprites(sprites).sample(20, RS(3))[1]
    assert np.array_equal(colour > 0, np.repeat(grey > 0, 3, axis=3))  # colour only on the sprite
    assert colour[grey[..., 0] > 0].min() >= 0.5
    noisy = NoisyDSprites(sprites).sample(20, RS(3))[1]
    assert np.all(noisy[np.repeat(grey, 3, axis=3) == 1] == 1.0)


def test_smallnorb_binary_format(tmp_path):
    folder = write_smallnorb(tmp_path / "small_norb")
    paths = [
        folder / f"smallnorb-5x{chunk}x9x18x6x2x96x96-{kind}-{part}.mat"
        for chunk, kind in (("46789", "training"), ("01235", "testing"))
        for part in ("dat", "cat", "info")
    ]
    dat = read_norb_matrix(paths[0])
    assert dat.shape == (24300, 2, 8, 8) and dat.dtype == np.uint8
    assert read_norb_matrix(paths[2]).shape == (24300, 4)
    data = SmallNORB(paths)
    assert data.factor_sizes == (5, 9, 18, 6) and not data.deterministic_observations
    factors, images = data.sample(200, RS(0))
    check_images(images, (64, 64, 1))
    corners = np.rint(images[:, [0, 0, -1], [0, -1, 0], 0] * 255).astype(int)
    assert np.array_equal(corners[:, 0], 10 * factors[:, 0] + factors[:, 3])  # category, lighting
    assert np.array_equal(corners[:, 1], factors[:, 1])  # elevation
    assert np.array_equal(corners[:, 2], factors[:, 2])  # azimuth
    (tmp_path / "short.mat").write_bytes(paths[1].read_bytes()[:-4])
    with pytest.raises(VaePassiveError, match=r"short\.mat has .* truncated"):
        read_norb_matrix(tmp_path / "short.mat")
    (tmp_path / "bad.mat").write_bytes(b"\x00" * 40)
    with pytest.raises(VaePassiveError, match=r"bad\.mat is not a NORB"):
        read_norb_matrix(tmp_path / "bad.mat")


@pytest.mark.slow
def test_cars3d_mat_files(tmp_path):
    data = Cars3D(write_cars(tmp_path / "cars"))
    factors, images = data.sample(100, RS(0))
    check_images(images, (64, 64, 3))
    pixels = np.rint(images[:, 5, 5] * 255).astype(int)
    assert np.array_equal(pixels[:, 0], 4 * factors[:, 1] + factors[:, 0])  # azimuth, elevation
    assert np.array_equal(pixels[:, 1], factors[:, 2])  # the car: its file's place in name order
    assert np.all(pixels[:, 2] == 7)


def test_cars3d_errors(tmp_path):
    write_cars(tmp_path / "cars", count=3)
    with pytest.raises(VaePassiveError, match=r"cars holds 3 \.mat files, Cars3D has 183"):
        Cars3D(tmp_path / "cars").images_at(np.array([0]))
    import scipy.io

    from vae_passive.data.cars3d import load_car

    scipy.io.savemat(tmp_path / "other.mat", {"x": np.zeros(3)})
    with pytest.raises(VaePassiveError, match=r"other\.mat has no variable 'im'"):
        load_car(tmp_path / "other.mat")
    scipy.io.savemat(tmp_path / "flat.mat", {"im": np.zeros((8, 8, 3), np.uint8)})
    with pytest.raises(VaePassiveError, match=r"flat\.mat: 'im' is uint8 \(8, 8, 3\)"):
        load_car(tmp_path / "flat.mat")


@pytest.mark.parametrize("layout", ["h5", "h5-chunked", "upstream-npz"])
def test_shapes3d(tmp_path, layout):
    if layout == "upstream-npz":
        from support.data_files import coded_rgb

        path = tmp_path / "3dshapes.npz"
        np.savez(path, images=coded_rgb(96).reshape(*SHAPES3D_GRID, 64, 64, 3), labels=np.zeros((96, 6)))
    else:
        path = write_shapes3d_h5(tmp_path / "3dshapes.h5", chunked=layout == "h5-chunked")
    data = Shapes3D(path, grid=SHAPES3D_GRID)
    factors, images = data.sample(60, RS(2))
    check_images(images, (64, 64, 3))
    assert np.array_equal(decode_rgb(images), data.index_of(factors))


@pytest.mark.parametrize("compressed", [False, True])
def test_mpi3d(tmp_path, compressed):
    data = MPI3D("mpi3d_toy", write_mpi3d(tmp_path / "m.npz", compressed=compressed), grid=MPI3D_GRID)
    factors, images = data.sample(30, RS(4))
    check_images(images, (64, 64, 3))
    assert np.array_equal(decode_rgb(images), data.index_of(factors))
    assert isinstance(data.images, ArrayImages if compressed else FileRows)


def test_npz_errors_name_the_file(tmp_path):
    good = write_mpi3d(tmp_path / "good.npz", grid=MPI3D_GRID)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(VaePassiveError, match=r"truncated\.npz.*truncated"):
        MPI3D("mpi3d_toy", truncated, grid=MPI3D_GRID).images_at(np.array([0]))
    np.savez(tmp_path / "keys.npz", pictures=np.zeros((2, 64, 64, 3), np.uint8))
    with pytest.raises(VaePassiveError, match=r"keys\.npz has no array 'images' \(it holds pictures\)"):
        MPI3D("mpi3d_toy", tmp_path / "keys.npz", grid=MPI3D_GRID).images_at(np.array([0]))
    with pytest.raises(
        VaePassiveError, match=r"good\.npz: 'images' is uint8 \(48, 64, 64, 3\), expected uint8 \(460800"
    ):
        MPI3D("mpi3d_toy", good).images_at(np.array([0]))
    np.savez(tmp_path / "grey.npz", imgs=np.full((96, 64, 64), 3, np.uint8))
    with pytest.raises(VaePassiveError, match=r"grey\.npz: 'imgs' is uint8 \(96, 64, 64\), expected uint8 \(737280"):
        DSprites(tmp_path / "grey.npz").images_at(np.array([0]))
    np.savez_compressed(tmp_path / "grey.npz", imgs=np.full((96, 64, 64), 3, np.uint8))
    with pytest.raises(VaePassiveError, match=r"values other than 0 and 1"):
        DSprites(tmp_path / "grey.npz", grid=DSPRITES_GRID).images_at(np.array([0]))
