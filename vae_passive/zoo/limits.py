"""What a download or a stranger's zip may cost (``Limits``), and how often and how long to retry (``RetryPolicy``).

Each limit and the base delay can be changed with its environment variable; the rest is pure.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime

from vae_passive import config
from vae_passive.errors import VaePassiveError
from vae_passive.zoo.progress import format_bytes

RETRY_BASE_ENV = config.RETRY_BASE
MAX_DOWNLOAD_ENV = config.MAX_DOWNLOAD_BYTES
MAX_MODEL_ENV = config.MAX_MODEL_BYTES
MAX_RATIO_ENV = config.MAX_COMPRESSION_RATIO
DEADLINE_ENV = config.DOWNLOAD_DEADLINE
RATIO_FLOOR = 1 << 20  # zips that inflate to less than this are not held to the compression ratio


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (seconds or an HTTP date); ``None`` if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """How often to retry a transient failure, and how long to wait: exponential backoff with jitter."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 60.0
    retry_after_cap: float = 120.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """The default policy, with the base delay from ``VAE_PASSIVE_RETRY_BASE`` (seconds) when set."""
        base = config.non_negative(RETRY_BASE_ENV, cls.base)
        if base > 600:
            raise VaePassiveError(f"{RETRY_BASE_ENV}={base:g} is not a delay in seconds; set e.g. 1 or 0.01")
        return cls(base=base)

    def delay(self, failures: int, retry_after: str | None = None, now: float | None = None) -> float:
        """Seconds to wait after the ``failures``-th failure in a row; a server's ``Retry-After`` wins, capped."""
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            return min(asked, self.retry_after_cap)
        return min(self.cap, self.base * 2 ** max(0, failures - 1)) * random.uniform(0.5, 1.0)


def retryable_status(status: int) -> bool:
    """Statuses worth another try: timeouts, throttling and server errors (never 403 or 404)."""
    return status in (408, 429) or 500 <= status < 600


@dataclass(frozen=True)
class Limits:
    """What one download or zip from a stranger may cost; each can be raised with its environment variable.

    ``download_bytes``: bytes one download may send; ``deadline``: seconds one download may take, all tries
    together; ``model_bytes``: bytes a zip may inflate to; ``ratio``: how many times its own size.
    """

    download_bytes: int = 2 << 30
    deadline: float = 3600.0
    model_bytes: int = 4 << 30
    ratio: float = 200.0

    @classmethod
    def from_env(cls) -> Limits:
        """The limits, each replaced by its environment variable when set."""
        return cls(
            download_bytes=int(config.positive(MAX_DOWNLOAD_ENV, cls.download_bytes)),
            deadline=config.positive(DEADLINE_ENV, cls.deadline),
            model_bytes=int(config.positive(MAX_MODEL_ENV, cls.model_bytes)),
            ratio=config.positive(MAX_RATIO_ENV, cls.ratio),
        )

    def check_inflation(self, model_id: int, zip_size: int, declared: int) -> None:
        """Raise when a zip of ``zip_size`` bytes declares more content than allowed: a likely zip bomb."""
        if declared > self.model_bytes:
            raise VaePassiveError(
                f"zip of model {model_id} would inflate to {format_bytes(declared)}, over the limit of "
                f"{format_bytes(self.model_bytes)}; raise {MAX_MODEL_ENV} (bytes) if the zip is genuine"
            )
        ratio = declared / max(1, zip_size)
        if declared > RATIO_FLOOR and ratio > self.ratio:
            raise VaePassiveError(
                f"zip of model {model_id} would inflate {ratio:.0f}-fold ({format_bytes(zip_size)} to "
                f"{format_bytes(declared)}), over the limit of {self.ratio:g}; raise {MAX_RATIO_ENV} if it is genuine"
            )
