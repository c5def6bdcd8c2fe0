"""Where the report writes: paths kept inside ``--out``, safe file names, and the tables as Parquet and CSV.

Names that come from documents (method, dataset, model key, rule) become ``FileNames`` stems; every
path is checked with ``inside``; CSV cells that a spreadsheet would run as a formula are made inert.
Everything goes through ``vae_passive.atomic``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow
from pyarrow import compute as pa_compute
from pyarrow import csv as pa_csv
from pyarrow import parquet as pa_parquet

from vae_passive.atomic import write_file
from vae_passive.errors import VaePassiveError

MAX_STEM = 120  # characters of a figure's file name before its extension
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_FORMULA_START = r"^([=+\-@\t\r])"  # spreadsheet formula triggers (OWASP CSV injection)


def inside(out: Path, relative: str) -> Path:
    """``out / relative``, refused unless it resolves inside ``out`` (a symlinked subfolder could lead elsewhere)."""
    target = out / relative
    if not target.resolve().is_relative_to(out.resolve()):
        raise VaePassiveError(f"refusing to write {target}: it resolves outside --out {out}")
    return target


class FileNames:
    """Safe, distinct file stems for names that come from documents (method, dataset, model key, rule).

    A stem keeps ``[A-Za-z0-9._-]`` (anything else becomes ``_``), never starts with a dot or a dash,
    and has at most ``MAX_STEM`` characters; a stem already given out (ignoring case, for case-blind
    file systems) gets ``-2``, ``-3``, ... Claims happen in a fixed order, so names are reproducible.
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, wanted: str) -> str:
        stem = _UNSAFE_NAME.sub("_", wanted).lstrip(".-")[:MAX_STEM] or "_"
        candidate, n = stem, 1
        while candidate.casefold() in self._taken:
            n += 1
            candidate = f"{stem[: MAX_STEM - len(str(n)) - 1]}-{n}"
        self._taken.add(candidate.casefold())
        return candidate


def csv_safe(table: pyarrow.Table) -> pyarrow.Table:
    """``table`` with string cells that a spreadsheet would run as a formula (``= + - @``, tab, CR first)
    prefixed with ``'``, as OWASP recommends; numbers, even negative ones, stay numbers."""
    columns = []
    for column in table.columns:
        if pyarrow.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pyarrow.types.is_string(column.type) or pyarrow.types.is_large_string(column.type):
            column = pa_compute.replace_substring_regex(column, pattern=_FORMULA_START, replacement="'\\1")
        columns.append(column)
    return pyarrow.Table.from_arrays(columns, names=table.column_names)


def write_table(frame: pd.DataFrame, out: Path, name: str) -> dict[str, str]:
    """``tables/<name>.parquet`` and ``tables/<name>.csv``; returns their paths relative to ``out``."""
    table = pyarrow.Table.from_pandas(frame, preserve_index=False)
    files = {"parquet": f"tables/{name}.parquet", "csv": f"tables/{name}.csv"}
    write_file(inside(out, files["parquet"]), lambda temp: pa_parquet.write_table(table, temp))
    # pyarrow's writer: several times faster than pandas'
    write_file(inside(out, files["csv"]), lambda temp: pa_csv.write_csv(csv_safe(table), temp))
    return files


def write_strings_csv(out: Path, relative: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A CSV of string ``columns`` (e.g. problems.csv), its cells made inert like the tables'."""
    arrays = {c: pyarrow.array([row[i] for row in rows], pyarrow.string()) for i, c in enumerate(columns)}
    table = csv_safe(pyarrow.table(arrays))
    write_file(inside(out, relative), lambda temp: pa_csv.write_csv(table, temp))
