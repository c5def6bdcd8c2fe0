"""Import TensorFlow once, quietly; the only place that does.

TensorFlow is imported lazily so that commands that do not need it (``list``, ``report``)
start in a fraction of a second. Its C++ start-up lines (oneDNN, CUDA probing) are written to
file descriptor 2 before any log level applies, so the import runs with that descriptor
pointed at a temporary file, which is replayed only if the import fails.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import TypeVar

T = TypeVar("T")


def _quietly(action: Callable[[], T]) -> T:
    """Run ``action`` with fd 2 captured; replay what it wrote if it raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            return action()
        except BaseException:
            os.dup2(saved, 2)
            capture.seek(0)
            sys.stderr.write(capture.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@cache
def tensorflow() -> ModuleType:
    """The ``tensorflow`` module, with its start-up chatter silenced."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    def load() -> ModuleType:
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        tf.config.list_physical_devices()  # the CUDA probe logs here, once
        return tf

    return _quietly(load)


def gpu_names() -> list[str]:
    """Names of the GPUs TensorFlow sees (empty on a CPU-only machine)."""
    return [device.name for device in tensorflow().config.list_physical_devices("GPU")]
