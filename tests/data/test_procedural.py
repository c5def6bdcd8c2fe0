import numpy as np
import pytest

from vae_passive.data import draw_batches, get_dataset, resolve_dataset
from vae_passive.data.procedural import ProceduralDSprites, position_offset, render_centered
from vae_passive.errors import VaePassiveError


def test_grid_and_labels():
    data = ProceduralDSprites()
    assert data.factor_sizes == (3, 6, 40, 32, 32)
    assert data.name == "procedural_dsprites" and data.real is False
    assert data.observation_shape == (64, 64, 1)


def test_images_binary_deterministic_and_factor_dependent():
    data = ProceduralDSprites()
    factors = np.array([[0, 5, 0, 16, 16], [1, 5, 0, 16, 16], [2, 5, 0, 16, 16], [0, 0, 0, 16, 16], [0, 5, 5, 16, 16]])
    a, b = data.render(factors), data.render(factors)
    assert a.dtype == np.uint8 and set(np.unique(a)) == {0, 1}
    assert np.array_equal(a, b)
    areas = a.reshape(len(a), -1).sum(1)
    assert len({tuple(img.ravel()) for img in a}) == 5  # every factor change changes the image
    assert areas[3] < areas[0]  # a smaller scale covers fewer pixels


def test_position_moves_the_sprite():
    data = ProceduralDSprites()
    left, right = data.render(np.array([[0, 3, 0, 0, 16], [0, 3, 0, 31, 16]]))
    cols = [np.nonzero(img.any(axis=0))[0].mean() for img in (left, right)]
    assert cols[1] - cols[0] == position_offset(31) - position_offset(0) == 40
    top, bottom = data.render(np.array([[0, 3, 0, 16, 0], [0, 3, 0, 16, 31]]))
    assert np.nonzero(bottom.any(axis=1))[0].mean() > np.nonzero(top.any(axis=1))[0].mean()
    assert len({position_offset(p) for p in range(32)}) == 32


def test_orientation_rotates_the_ellipse():
    flat, turned = render_centered(1, 5, 0), render_centered(1, 5, 10)  # 0 and ~pi/2
    assert np.ptp(np.nonzero(flat.any(axis=0))[0]) > np.ptp(np.nonzero(flat.any(axis=1))[0])
    assert np.ptp(np.nonzero(turned.any(axis=1))[0]) > np.ptp(np.nonzero(turned.any(axis=0))[0])


def test_index_of_is_dsprites_mixed_radix():
    data = ProceduralDSprites()
    assert data.index_of(np.array([[0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [2, 5, 39, 31, 31]])).tolist() == [1, 32, 737_279]


def test_sampling_follows_upstream_call_order():
    data = ProceduralDSprites()
    factors = data.sample_factors(7, np.random.RandomState(5))
    rs = np.random.RandomState(5)
    expected = np.stack([rs.randint(size, size=7) for size in (3, 6, 40, 32, 32)], axis=1)
    assert np.array_equal(factors, expected)
    # batches of 16, as generate_batch_factor_code draws them
    batched, images = draw_batches(data, 40, np.random.RandomState(9), batch_size=16)
    rs = np.random.RandomState(9)
    parts = [np.stack([rs.randint(s, size=n) for s in data.factor_sizes], axis=1) for n in (16, 16, 8)]
    assert np.array_equal(batched, np.concatenate(parts))
    assert images.shape == (40, 64, 64, 1) and images.dtype == np.float32
    assert np.array_equal(images[..., 0], data.render(batched))


def test_three_channels_repeat_grey():
    data = get_dataset("procedural_dsprites", 3)
    _, images = data.sample(3, np.random.RandomState(0))
    assert images.shape == (3, 64, 64, 3)
    assert np.array_equal(images[..., 0], images[..., 2])


def test_render_rejects_bad_factors():
    with pytest.raises(ValueError, match="out of range"):
        ProceduralDSprites().render(np.array([[3, 0, 0, 0, 0]]))


def test_resolve_dataset():
    with pytest.raises(VaePassiveError, match=r"vae-passive data fetch dsprites_full.*--data procedural_dsprites"):
        resolve_dataset("dsprites_full", None, 1)  # the published file is missing: no silent stand-in
    data, note = resolve_dataset("dsprites_full", "procedural_dsprites", 1)
    assert data.name == "procedural_dsprites" and "stand-in for dsprites_full" in note
    data, note = resolve_dataset(None, "procedural_dsprites", 3)
    assert data.observation_shape == (64, 64, 3) and note == ""
    with pytest.raises(VaePassiveError, match="unknown data set"):
        resolve_dataset(None, "mnist", 1)
