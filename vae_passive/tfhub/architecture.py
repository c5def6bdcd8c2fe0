"""The disentanglement_lib conv encoder / deconv decoder: variable names and shapes.

Shapes follow ``tf.compat.v1.layers``: conv kernels are (k, k, in, out), transposed-conv
kernels are (k, k, out, in), dense kernels are (in, out).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

IMAGE_SIZE = 64

#: (name, kernel size, filters) of the encoder's strided convolutions (stride 2, SAME, relu).
ENCODER_CONVS: tuple[tuple[str, int, int], ...] = (("e1", 4, 32), ("e2", 4, 32), ("e3", 2, 64), ("e4", 2, 64))
ENCODER_HIDDEN = 256
#: (name, filters) of the decoder's transposed convolutions (4x4, stride 2, SAME); the last has C filters.
DECODER_DECONVS: tuple[str, ...] = (
    "conv2d_transpose",
    "conv2d_transpose_1",
    "conv2d_transpose_2",
    "conv2d_transpose_3",
)
DECODER_DECONV_FILTERS: tuple[int, ...] = (64, 32, 32)


def weight_shapes(channels: int, num_latents: int) -> dict[str, tuple[int, ...]]:
    """Every checkpoint variable of a model, name -> shape, in creation order."""
    shapes: dict[str, tuple[int, ...]] = {}
    depth = channels
    for name, size, filters in ENCODER_CONVS:
        shapes[f"encoder/{name}/kernel"] = (size, size, depth, filters)
        shapes[f"encoder/{name}/bias"] = (filters,)
        depth = filters
    flat = 4 * 4 * depth
    shapes["encoder/e5/kernel"] = (flat, ENCODER_HIDDEN)
    shapes["encoder/e5/bias"] = (ENCODER_HIDDEN,)
    for head in ("means", "log_var"):
        shapes[f"encoder/{head}/kernel"] = (ENCODER_HIDDEN, num_latents)
        shapes[f"encoder/{head}/bias"] = (num_latents,)
    shapes["decoder/dense/kernel"] = (num_latents, 256)
    shapes["decoder/dense/bias"] = (256,)
    shapes["decoder/dense_1/kernel"] = (256, 1024)
    shapes["decoder/dense_1/bias"] = (1024,)
    depth = 64
    for name, filters in zip(DECODER_DECONVS, (*DECODER_DECONV_FILTERS, channels), strict=True):
        shapes[f"decoder/{name}/kernel"] = (4, 4, filters, depth)
        shapes[f"decoder/{name}/bias"] = (filters,)
        depth = filters
    return shapes


def random_weights(channels: int, num_latents: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Glorot-uniform kernels and zero biases, as ``tf.layers`` initialises a fresh model."""
    rng = np.random.default_rng(seed)
    weights: dict[str, np.ndarray] = {}
    for name, shape in weight_shapes(channels, num_latents).items():
        if name.endswith("/bias"):
            weights[name] = np.zeros(shape, np.float32)
            continue
        receptive = int(np.prod(shape[:-2])) if len(shape) == 4 else 1
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights[name] = rng.uniform(-limit, limit, size=shape).astype(np.float32)
    return weights


def check_weights(weights: Mapping[str, np.ndarray], channels: int, num_latents: int) -> None:
    """Raise ValueError naming the first missing, extra or mis-shaped variable."""
    expected = weight_shapes(channels, num_latents)
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise ValueError(f"weights do not match the architecture: missing {missing}, unexpected {extra}")
    for name, shape in expected.items():
        if tuple(np.shape(weights[name])) != shape:
            raise ValueError(f"weight {name} has shape {np.shape(weights[name])}, expected {shape}")
