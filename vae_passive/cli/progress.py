"""Every progress bar of the CLI: tqdm bars on stderr, fed by the domain code's progress callbacks.

tqdm lives here only. A bar is drawn only on a terminal and without ``--quiet`` (``on_terminal``);
otherwise it stays silent and the domain code runs exactly the same.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

from vae_passive.zoo.progress import Outcome, Progress

if TYPE_CHECKING:
    from tqdm import tqdm


def on_terminal(quiet: bool) -> bool:
    """Whether to draw bars: not asked to be quiet, and stderr is a terminal (no bars in logs)."""
    return not quiet and sys.stderr.isatty()


class StepBar:
    """A tqdm bar of steps, driven by a ``(done, total, label)`` callback (``metrics.suite.Progress``).

    The bar opens at the first call, when the total and the starting point (a resumed run's) are known;
    the label is shown after the counts. Use it as a context manager so that it is closed on any exit.
    """

    def __init__(self, desc: str, unit: str, enabled: bool):
        self.desc, self.unit, self.enabled = desc, unit, enabled
        self.bar: tqdm | None = None

    def __enter__(self) -> StepBar:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        bar = self.bar
        if bar is None:
            from tqdm import tqdm

            bar = self.bar = tqdm(total=total, initial=done, desc=self.desc, unit=self.unit, file=sys.stderr)
        bar.set_postfix_str(label, refresh=False)
        if done > bar.n:
            bar.update(done - bar.n)  # redraws, at most every tqdm's mininterval
        else:
            bar.refresh()


class ModelBars(Progress):
    """tqdm bars for models and bytes (a ``Fetcher``'s or an import's progress); threads may report at once."""

    def __init__(self, total: int, enabled: bool, with_bytes: bool):
        from tqdm import tqdm

        self._lock = threading.Lock()
        self.models = tqdm(total=total, desc="models", unit="model", disable=not enabled, position=0)
        self.bytes = tqdm(
            desc="received",
            unit="B",
            unit_scale=True,
            unit_divisor=1000,
            disable=not (enabled and with_bytes),
            position=1,
        )

    def __enter__(self) -> ModelBars:
        return self

    def __exit__(self, *exc) -> None:
        self.bytes.close()
        self.models.close()

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes.update(count)

    def model_done(self, outcome: Outcome) -> None:
        with self._lock:
            self.models.update(1)

    def warn(self, text: str) -> None:
        from tqdm import tqdm

        with self._lock:
            tqdm.write(f"warning: {text}", file=sys.stderr)


def model_bars(total: int, quiet: bool, with_bytes: bool = False) -> ModelBars:
    """``ModelBars`` of ``fetch`` and ``import``: silent off a terminal or with ``--quiet``."""
    return ModelBars(total, enabled=on_terminal(quiet), with_bytes=with_bytes)


class ByteBar(Progress):
    """A tqdm bar of bytes received by ``data fetch`` (``Progress``'s interface; no models here)."""

    def __init__(self, enabled: bool):
        from tqdm import tqdm

        self.bar = tqdm(unit="B", unit_scale=True, unit_divisor=1024, disable=not enabled, desc="download")

    def add_bytes(self, count: int) -> None:
        self.bar.update(count)

    def close(self) -> None:
        self.bar.close()
