"""TensorBoard event files written with ``tensorboard``'s own protos, never TensorFlow.

``tensorboard``'s ``scalar_pb`` and ``histogram_pb`` build the same summaries as TF2's
``tf.summary.scalar`` and ``tf.summary.histogram`` (a float32 scalar tensor; 30 buckets of
(left, right, count) in float64, the same bucketing), and its ``RecordWriter`` frames them as TF's
record files. Importing these takes about 0.5 s and loads no TensorFlow (TensorFlow itself takes
several seconds), so a monitor that runs in a PyTorch or JAX loop pays only for what it writes.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vae_passive.atomic import WriteError
from vae_passive.errors import VaePassiveError

_FILE_NUMBERS = itertools.count()


def _tensorboard() -> dict[str, Any]:
    """tensorboard's protos, summary builders and record framing; a one-line error when it is not installed."""
    try:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.plugins.histogram.summary_v2 import histogram_pb
        from tensorboard.plugins.scalar.summary_v2 import scalar_pb
        from tensorboard.summary.writer.record_writer import RecordWriter
    except ImportError:
        raise VaePassiveError(
            "TensorBoard events need the tensorboard package: pip install tensorboard, or pass tensorboard=False"
        ) from None
    return {"Event": event_pb2.Event, "histogram_pb": histogram_pb, "scalar_pb": scalar_pb, "Record": RecordWriter}


class EventWriter:
    """One event file in ``folder`` (created at the first write), named as TensorFlow names its own."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._tb = _tensorboard()  # fail at once, before anything is logged
        self._record: Any = None

    def _open(self) -> None:
        name = (
            f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{next(_FILE_NUMBERS)}.v2"
        )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = open(self.folder / name, "wb")  # noqa: SIM115 - closed by close()
        except OSError as error:
            raise WriteError(f"cannot write {self.folder / name}: {error.strerror or error}") from None
        self._record = self._tb["Record"](handle)
        self._write(self._tb["Event"](wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event: Any) -> None:
        self._record.write(event.SerializeToString())

    def write(self, step: int, scalars: Mapping[str, float], histograms: Mapping[str, np.ndarray]) -> None:
        """The step's scalars and histograms (one event each, as ``tf.summary``), flushed to disk."""
        if self._record is None:
            self._open()
        now = time.time()
        summaries = [self._tb["scalar_pb"](tag, value) for tag, value in scalars.items()]
        summaries += [self._tb["histogram_pb"](tag, values) for tag, values in histograms.items()]
        for summary in summaries:
            self._write(self._tb["Event"](wall_time=now, step=step, summary=summary))
        self._record.flush()

    def close(self) -> None:
        if self._record is not None:
            self._record.close()
            self._record = None
