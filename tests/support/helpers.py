"""Small helpers shared by tests."""

from __future__ import annotations

import numpy as np


def random_images(n: int, channels: int, seed: int = 0) -> np.ndarray:
    """Random float32 images in [0, 1], shape (n, 64, 64, channels)."""
    return np.random.default_rng(seed).random((n, 64, 64, channels), dtype=np.float32)


def one_line_error(result) -> str:
    """Assert a CLI result failed with exactly one line on stderr and no traceback; return it."""
    assert result.exit_code != 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert lines[0].startswith("Error: ")
    return lines[0]
