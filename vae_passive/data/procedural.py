"""A procedural stand-in for dSprites: square, ellipse and heart on the exact dSprites factor grid.

Factors (sizes): shape 3, scale 6 (0.5-1.0), orientation 40 (0-2pi inclusive), posX 32, posY 32,
the grid of ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``; the index of a factor tuple is
the same mixed-radix number (posY fastest). The images are 64x64 binary renderings made here,
not the published sprites, so everything computed on them is labelled ``procedural_dsprites``.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from vae_passive.data.base import GroundTruthData

SIZE = 64
SHAPES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)
#: A scale-1 sprite's half-extent in pixels, and the span its centre moves over.
RADIUS = 10.0
TRAVEL = 40.0
_PAD = SIZE // 2


def _inside(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pixel centres (u, v) in sprite units (1 = half-extent) that fall inside ``shape``."""
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape == "ellipse":
        return (u / 1.0) ** 2 + (v / 0.5) ** 2 <= 1.0
    x, y = u * 1.1, -v * 1.1 + 0.1  # the classic implicit heart, point down in image rows
    return (x**2 + y**2 - 1.0) ** 3 - x**2 * y**3 <= 0.0


def render_centered(shape: int, scale: int, orientation: int) -> np.ndarray:
    """The sprite for factor classes (shape, scale, orientation), centred, as a (64, 64) bool mask."""
    centres = np.arange(SIZE) - (SIZE - 1) / 2.0
    rows, cols = np.meshgrid(centres, centres, indexing="ij")
    angle = ORIENTATIONS[orientation]
    radius = RADIUS * SCALES[scale]
    u = (np.cos(angle) * cols + np.sin(angle) * rows) / radius
    v = (-np.sin(angle) * cols + np.cos(angle) * rows) / radius
    return _inside(SHAPES[shape], u, v)


def position_offset(position: int) -> int:
    """Pixel offset of the sprite centre for a posX/posY class (32 distinct integers in [-20, 20])."""
    return round(float(POSITIONS[position] - 0.5) * TRAVEL)


class ProceduralDSprites(GroundTruthData):
    """dSprites' factor grid with sprites rendered here; ``channels`` = 3 repeats the grey image."""

    name = "procedural_dsprites"
    real = False
    factor_names = ("shape", "scale", "orientation", "posX", "posY")
    factor_sizes = (3, 6, 40, 32, 32)
    deterministic_observations = True

    def __init__(self, channels: int = 1):
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, not {channels}")
        self.channels = channels
        self.observation_shape = (SIZE, SIZE, channels)

    @cached_property
    def _templates(self) -> np.ndarray:
        """All 720 centred sprites, padded so that any position is a plain slice: (3, 6, 40, 128, 128)."""
        templates = np.zeros((3, 6, 40, SIZE + 2 * _PAD, SIZE + 2 * _PAD), np.uint8)
        for shape in range(3):
            for scale in range(6):
                for orientation in range(40):
                    templates[shape, scale, orientation, _PAD:-_PAD, _PAD:-_PAD] = render_centered(
                        shape, scale, orientation
                    )
        return templates

    @cached_property
    def _offsets(self) -> np.ndarray:
        return np.array([position_offset(p) for p in range(len(POSITIONS))])

    def index_of(self, factors: np.ndarray) -> np.ndarray:
        """The dSprites image index of each factor row (mixed radix, posY fastest)."""
        index = np.zeros(len(factors), np.int64)
        for column, size in enumerate(self.factor_sizes):
            index = index * size + factors[:, column]
        return index

    def render(self, factors: np.ndarray) -> np.ndarray:
        """uint8 {0, 1} images (N, 64, 64) for factor rows; deterministic."""
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != 5:
            raise ValueError(f"factors must have shape (N, 5), not {factors.shape}")
        if np.any(factors < 0) or np.any(factors >= np.array(self.factor_sizes)):
            raise ValueError("factor classes out of range for the dSprites grid (3, 6, 40, 32, 32)")
        templates, offsets = self._templates, self._offsets
        out = np.empty((len(factors), SIZE, SIZE), np.uint8)
        for i, (shape, scale, orientation, pos_x, pos_y) in enumerate(factors):
            top, left = _PAD - offsets[pos_y], _PAD - offsets[pos_x]
            out[i] = templates[shape, scale, orientation, top : top + SIZE, left : left + SIZE]
        return out

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState | None
    ) -> np.ndarray:
        """Float32 images in {0, 1}; no noise, so ``random_state`` is not used (and may be None)."""
        images = self.render(factors).astype(np.float32)[..., None]
        return np.repeat(images, self.channels, axis=3) if self.channels == 3 else images
