"""Import TensorFlow once, quietly; the only place that does.

TensorFlow is imported lazily so that commands that do not need it (``list``, ``report``)
start in a fraction of a second, and it is an extra (``vae-passive[tf]``): without it, the first
command that needs it stops with one line naming the extra. Its C++ start-up lines (oneDNN, CUDA probing) are written to
file descriptor 2 before any log level applies, so the import runs with that descriptor
pointed at a temporary file, which is replayed only if the import fails.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import TypeVar

from vae_passive.errors import VaePassiveError

T = TypeVar("T")
INSTALL_HINT = 'pip install "vae-passive[tf]"'


class TensorFlowMissing(VaePassiveError):
    """TensorFlow is not installed: the core works on arrays and documents, modules need the ``tf`` extra."""


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
    """The ``tensorflow`` module, with its start-up chatter silenced; ``TensorFlowMissing`` when not installed."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        spec = importlib.util.find_spec("tensorflow")
    except ValueError:  # a placeholder module (sys.modules["tensorflow"] = None) blocks it
        spec = None
    if spec is None or sys.modules.get("tensorflow", spec) is None:
        raise TensorFlowMissing(
            f"this needs TensorFlow, which is not installed: {INSTALL_HINT} (models and modules; "
            "arrays and documents work without it)"
        )

    def load() -> ModuleType:
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        tf.config.list_physical_devices()  # the CUDA probe logs here, once
        return tf

    return _quietly(load)


def gpu_names() -> list[str]:
    """Names of the GPUs TensorFlow sees (empty on a CPU-only machine)."""
    return [device.name for device in tensorflow().config.list_physical_devices("GPU")]


def limit_threads(threads: int) -> None:
    """Give TensorFlow ``threads`` cores for its ops (one process's share of a machine split between jobs)."""
    tf = tensorflow()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
