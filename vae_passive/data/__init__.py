"""Ground-truth data sets: factors of variation and the images they produce."""

from vae_passive.data.base import FixedImageData, GroundTruthData, draw_batches
from vae_passive.data.registry import available, get_dataset, resolve_dataset

__all__ = ["FixedImageData", "GroundTruthData", "available", "draw_batches", "get_dataset", "resolve_dataset"]
