"""What fetches and imports report: an ``Outcome`` per model, ``Progress`` events as they go, the closing
summary, and sizes and id ranges as messages write them. No bars here: the CLI draws them."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vae_passive.zoo.sources import CLOSED_BUCKET_HELP


def format_bytes(size: int | None) -> str:
    """``15.2 MB``; ``-`` when unknown."""
    if size is None:
        return "-"
    value, unit = float(size), "B"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            break
        value /= 1000
    return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"


def format_ids(ids: Iterable[int]) -> str:
    """Ids as ranges, the syntax ``--ids`` reads: ``0-2,5``."""
    parts: list[str] = []
    run: list[int] = []
    for i in sorted(set(ids)):
        if run and i != run[-1] + 1:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
            run = []
        run.append(i)
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts)


@dataclass(frozen=True)
class Outcome:
    """What happened to one model: ``status`` is fetched, imported, cached or failed (dry run: available, missing)."""

    model_id: int
    status: str
    source: str = ""
    size: int | None = None
    reason: str = ""
    upstream_closed: bool = False


def summarize(outcomes: Sequence[Outcome]) -> tuple[list[str], list[str]]:
    """The closing summary: counts (for stdout) and failures grouped by reason (for stderr)."""
    counts = []
    for status in ("fetched", "imported"):
        done = [o for o in outcomes if o.status == status]
        if done:
            counts.append(f"{status} {len(done)} ({format_bytes(sum(o.size or 0 for o in done))})")
    counts.append(f"already cached {sum(o.status == 'cached' for o in outcomes)}")
    failed = [o for o in outcomes if o.status == "failed"]
    counts.append(f"failed {len(failed)}")
    problems = []
    by_reason: dict[str, list[int]] = {}
    for outcome in failed:
        by_reason.setdefault(outcome.reason, []).append(outcome.model_id)
    for reason, ids in by_reason.items():
        problems.append(f"failed {format_ids(ids)}: {reason}")
    if any(o.upstream_closed for o in failed):
        problems.append(CLOSED_BUCKET_HELP)
    return [", ".join(counts)], problems


class Progress:
    """Receives progress events from a download or a ``Fetcher``; this one ignores them (the CLI shows tqdm bars)."""

    def add_bytes(self, count: int) -> None:
        """``count`` more bytes received."""

    def model_done(self, outcome: Outcome) -> None:
        """One more model finished, whatever its outcome."""

    def warn(self, text: str) -> None:
        """Something the user should know that fails no model (a mirror's file ignored); on stderr by default."""
        print(f"warning: {text}", file=sys.stderr)
