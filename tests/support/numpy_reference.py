"""An independent numpy forward pass of the disentanglement_lib encoder and decoder.

Written from the architecture's definition (TensorFlow's SAME padding rules), not from the
exporter, so the round-trip tests compare two implementations.
"""

from __future__ import annotations

import numpy as np


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv2d_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """x (N, H, W, Cin), kernel (k, k, Cin, Cout) -> (N, ceil(H/s), ceil(W/s), Cout)."""
    k = kernel.shape[0]
    n, h, w, _ = x.shape
    (top, bottom), (left, right) = _same_padding(h, k, stride), _same_padding(w, k, stride)
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out_h, out_w = -(-h // stride), -(-w // stride)
    out = np.zeros((n, out_h, out_w, kernel.shape[3]), np.float64)
    for a in range(k):
        for b in range(k):
            patch = padded[:, a : a + stride * out_h : stride, b : b + stride * out_w : stride, :]
            out += patch @ kernel[a, b]
    return out + bias


def conv2d_transpose_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """x (N, H, W, Cin), kernel (k, k, Cout, Cin) -> (N, H*s, W*s, Cout): the adjoint of conv2d_same."""
    k = kernel.shape[0]
    n, h, w, _ = x.shape
    out_h, out_w = h * stride, w * stride
    top, _ = _same_padding(out_h, k, stride)
    left, _ = _same_padding(out_w, k, stride)
    full = np.zeros((n, (h - 1) * stride + k, (w - 1) * stride + k, kernel.shape[2]), np.float64)
    for a in range(k):
        for b in range(k):
            full[:, a : a + stride * h : stride, b : b + stride * w : stride, :] += x @ kernel[a, b].T
    return full[:, top : top + out_h, left : left + out_w, :] + bias


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def encode(weights: dict[str, np.ndarray], images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, logvar) of the conv encoder, in float64."""
    x = images.astype(np.float64)
    for name in ("e1", "e2", "e3", "e4"):
        x = relu(conv2d_same(x, weights[f"encoder/{name}/kernel"], weights[f"encoder/{name}/bias"], 2))
    x = x.reshape(len(x), -1)
    x = relu(x @ weights["encoder/e5/kernel"] + weights["encoder/e5/bias"])
    mean = x @ weights["encoder/means/kernel"] + weights["encoder/means/bias"]
    logvar = x @ weights["encoder/log_var/kernel"] + weights["encoder/log_var/bias"]
    return mean, logvar


def decode(weights: dict[str, np.ndarray], latents: np.ndarray) -> np.ndarray:
    """Logits (N, 64, 64, C) of the deconv decoder, in float64."""
    x = relu(latents.astype(np.float64) @ weights["decoder/dense/kernel"] + weights["decoder/dense/bias"])
    x = relu(x @ weights["decoder/dense_1/kernel"] + weights["decoder/dense_1/bias"])
    x = x.reshape(len(x), 4, 4, 64)
    names = ("conv2d_transpose", "conv2d_transpose_1", "conv2d_transpose_2", "conv2d_transpose_3")
    for i, name in enumerate(names):
        x = conv2d_transpose_same(x, weights[f"decoder/{name}/kernel"], weights[f"decoder/{name}/bias"], 2)
        if i < len(names) - 1:
            x = relu(x)
    return x


def hidden(weights: dict[str, np.ndarray], images: np.ndarray) -> np.ndarray:
    """The 256 features of the encoder's e5 layer, in float64."""
    x = images.astype(np.float64)
    for name in ("e1", "e2", "e3", "e4"):
        x = relu(conv2d_same(x, weights[f"encoder/{name}/kernel"], weights[f"encoder/{name}/bias"], 2))
    return relu(x.reshape(len(x), -1) @ weights["encoder/e5/kernel"] + weights["encoder/e5/bias"])
