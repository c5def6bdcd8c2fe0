"""dSprites (``dsprites_full``) and its colour, noise and scream variants, as disentanglement_lib samples them.

The npz holds ``imgs``, uint8 0/1, (737,280, 64, 64) on the grid colour 1 x shape 3 x scale 6 x
orientation 40 x posX 32 x posY 32 (posY fastest). Colour is not a latent factor: like upstream, it is
"drawn" with ``randint(1)`` after the latent factors (which takes nothing from the random state).
Images stay uint8 (read in place when the member is stored, else packed 8 pixels to a byte); only the
sampled ones become float32.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from vae_passive.data.base import FixedImageData, GroundTruthData
from vae_passive.data.images import ImageSource, npz_binary_images
from vae_passive.errors import VaePassiveError

GRID = (1, 3, 6, 40, 32, 32)
FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
#: Upstream's ``scream.thumbnail((350, 274, 3))``: the bounding box the Scream is shrunk into.
SCREAM_BOX = (350, 274)


class DSprites(FixedImageData):
    """The published dSprites images; ``grid`` is the stored grid (the published one unless a test says otherwise)."""

    name = "dsprites_full"
    real = True
    factor_names = FACTOR_NAMES
    latent_columns = (1, 2, 3, 4, 5)
    observation_shape = (64, 64, 1)

    def __init__(self, path: Path, grid: tuple[int, ...] = GRID):
        if len(grid) != 6 or grid[0] != 1:
            raise ValueError(f"a dSprites grid is (1, shape, scale, orientation, posX, posY), not {grid}")
        self.path = Path(path)
        self.all_factor_sizes = tuple(grid)
        self.factor_sizes = tuple(grid[1:])

    @cached_property
    def images(self) -> ImageSource:
        """The stored 0/1 images, uint8, loaded on first use."""
        return npz_binary_images(self.path, "imgs", (self.num_images, 64, 64))

    def binary_at(self, indices: np.ndarray) -> np.ndarray:
        """uint8 0/1 images (N, 64, 64) at ``indices``."""
        return self.images.take(indices)

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        return self.binary_at(indices).astype(np.float32)[..., None]


class _Variant(GroundTruthData):
    """A dSprites variant: the same factors and sprites, with colour drawn per sample from the random state."""

    real = True
    factor_names = FACTOR_NAMES
    observation_shape = (64, 64, 3)
    deterministic_observations = False

    def __init__(self, sprites: DSprites):
        self.sprites = sprites
        self.factor_sizes = sprites.factor_sizes

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return self.sprites.sample_factors(num, random_state)

    def _grey(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        """uint8 0/1 sprites (N, 64, 64), drawing what upstream draws before the colour."""
        return self.sprites.binary_at(self.sprites.sample_indices(factors, random_state))


class ColorDSprites(_Variant):
    """The sprite in a random colour: each RGB channel times U(0.5, 1), one colour per sample."""

    name = "color_dsprites"

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        grey = self._grey(factors, random_state)
        colour = random_state.uniform(0.5, 1, [len(grey), 1, 1, 3])
        return (grey[..., None] * colour).astype(np.float32)


class NoisyDSprites(_Variant):
    """The white sprite on uniform noise: min(sprite + U(0, 1) per pixel and channel, 1)."""

    name = "noisy_dsprites"

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        grey = self._grey(factors, random_state)
        noise = random_state.uniform(0, 1, [len(grey), 64, 64, 3])
        return np.minimum(grey[..., None] + noise, 1.0).astype(np.float32)


def upstream_thumbnail_size(size: tuple[int, int], box: tuple[int, int] = SCREAM_BOX) -> tuple[int, int]:
    """(width, height) that Pillow 6's ``thumbnail(box)`` gave (truncating arithmetic, aspect kept)."""
    width, height = size
    if width > box[0]:
        height = int(max(height * box[0] / width, 1))
        width = int(box[0])
    if height > box[1]:
        width = int(max(width * box[1] / height, 1))
        height = int(box[1])
    return width, height


def load_scream(path: Path) -> np.ndarray:
    """The Scream, shrunk as upstream shrinks it, as float64 RGB in [0, 1] (height, width, 3)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            size = upstream_thumbnail_size(image.size)
            image.draft("RGB", size)
            pixels = np.asarray(image.convert("RGB").resize(size, Image.Resampling.BICUBIC))
    except (OSError, UnidentifiedImageError) as error:
        raise VaePassiveError(f"cannot read the Scream image {path}: {error}; fetch it again") from None
    if pixels.shape[0] <= 64 or pixels.shape[1] <= 64:
        raise VaePassiveError(f"{path} is too small ({pixels.shape[1]}x{pixels.shape[0]}); it is not The Scream")
    return pixels / 255.0


class ScreamDSprites(_Variant):
    """The sprite inverted on a random 64x64 crop of the Scream averaged with a random colour."""

    name = "scream_dsprites"

    def __init__(self, sprites: DSprites, scream_path: Path):
        super().__init__(sprites)
        self.scream_path = Path(scream_path)

    @cached_property
    def scream(self) -> np.ndarray:
        return load_scream(self.scream_path)

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        grey = self._grey(factors, random_state)
        scream = self.scream
        out = np.empty((len(grey), 64, 64, 3), np.float32)
        for i, sprite in enumerate(grey):
            top = random_state.randint(0, scream.shape[0] - 64)
            left = random_state.randint(0, scream.shape[1] - 64)
            background = (scream[top : top + 64, left : left + 64] + random_state.uniform(0, 1, size=3)) / 2.0
            mask = sprite == 1
            background[mask] = 1 - background[mask]
            out[i] = background
        return out
