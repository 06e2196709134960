"""The shared CSV engine: a :class:`Plan` says which columns mean what; rows are streamed
in chunks of ``batch_size`` and turned into batches column by column."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter

import numpy as np

from predictions.taxonomy import CategoryMapper

from .. import errors as E
from ..builder import BatchBuilder, Columns, Options, strip_all, to_floats
from ..errors import IngestRefused
from ..records import Batch
from ..textio import is_end

_NON_ALNUM = re.compile(r"[^a-z0-9]")

DateParser = Callable[[Sequence[str]], np.ndarray]
Column = Callable[[int], Sequence[str]]  # column index -> that column's values
AddressFn = Callable[[Column, int], list[str | None]]


def norm_header(name: str) -> str:
    """Header key: lower case, letters and digits only (``X-Coord`` -> ``xcoord``)."""
    return _NON_ALNUM.sub("", name.lstrip("\ufeff").lower())


def index_of(header: Sequence[str], *names: str) -> int | None:
    """Index of the first of ``names`` (normalized) present in ``header``."""
    keys = [norm_header(h) for h in header]
    for name in names:
        key = norm_header(name)
        if key in keys:
            return keys.index(key)
    return None


@dataclass
class Plan:
    """Column roles for one CSV layout (indices into the header)."""

    format: str
    id_cols: list[int]
    date_cols: list[int]
    parse_dates: DateParser
    x_col: int
    y_col: int
    crs: str
    category_cols: list[int]
    address_cols: list[int] = field(default_factory=list)
    district_col: int | None = None
    count_col: int | None = None
    synthetic_ids: bool = False
    date_precision: str = "minute"
    timezone: str | None = None
    id_sep: str = ":"
    category_sep: str = " - "
    address_fn: AddressFn | None = None
    extra_cols: list[int] = field(default_factory=list)  # read by address_fn

    def needed(self) -> list[int]:
        """Every column index the plan reads (in a fixed order)."""
        cols = [*self.id_cols, *self.date_cols, self.x_col, self.y_col, *self.category_cols]
        cols += [*self.address_cols, *self.extra_cols]
        cols += [c for c in (self.district_col, self.count_col) if c is not None]
        return sorted(set(cols))


@dataclass
class FileStats:
    rows_read: int = 0
    blank_lines: int = 0


def _join(col: Column, cols: list[int], sep: str) -> Sequence[str]:
    if len(cols) == 1:
        return col(cols[0])
    parts = zip(*(strip_all(col(i)) for i in cols), strict=True)
    return [sep.join([p for p in values if p]) for values in parts]


def _optional(values: Sequence[str]) -> list[str | None]:
    return [v or None for v in strip_all(values)]


class SyntheticIds:
    """Deterministic ids for rows without one: ``syn-`` + 16 hex of SHA-256 of the row's
    cells (joined by U+001F); the n-th identical row in a file gets a ``-n`` suffix."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def __call__(self, row: Sequence[str]) -> str:
        digest = hashlib.sha256("\x1f".join(row).encode("utf-8")).hexdigest()[:16]
        self.seen[digest] += 1
        n = self.seen[digest]
        return f"syn-{digest}" if n == 1 else f"syn-{digest}-{n}"


def parse_table(
    plan: Plan,
    header: Sequence[str],
    rows: Iterator[list[str]],
    *,
    source: str,
    options: Options,
    mapper: CategoryMapper,
    stats: FileStats,
) -> Iterator[Batch]:
    """Stream ``rows`` (after the header) into validated batches."""
    builder = BatchBuilder(
        source=source,
        format=plan.format,
        crs=plan.crs,
        options=options,
        mapper=mapper,
        header=header,
        date_precision=plan.date_precision,
        timezone=plan.timezone,
    )
    synth = SyntheticIds() if plan.synthetic_ids else None
    start = 2  # the header is row 1
    width = len(header)
    while True:
        try:
            chunk = list(islice(rows, options.batch_size))
        except csv.Error as exc:
            line = getattr(rows, "line_num", "?")
            msg = f"malformed CSV near line {line}: {exc}"
            raise IngestRefused("unreadable", msg, source) from exc
        if chunk and is_end(chunk[-1], rows, source):
            chunk.pop()  # the end marker (the reader's last row)
        if not chunk:
            return
        numbers = np.arange(start, start + len(chunk), dtype=np.int64)
        start += len(chunk)
        if min(map(len, chunk)) < 2 and any(
            blank := [len(r) < 2 and not (r and r[0].strip()) for r in chunk]
        ):
            stats.blank_lines += sum(blank)
            chunk = [r for r, b in zip(chunk, blank, strict=True) if not b]
            numbers = numbers[~np.array(blank)]
            if not chunk:
                continue
        stats.rows_read += len(chunk)
        batch = builder.build(_columns(plan, width, chunk, numbers, synth))
        del chunk  # do not keep the row lists alive (for the GC) while the caller works
        yield batch


def _columns(
    plan: Plan,
    width: int,
    chunk: list[list[str]],
    numbers: np.ndarray,
    synth: SyntheticIds | None,
) -> Columns:
    pre: dict[int, tuple[str, str]] = {}
    rows = chunk
    if set(map(len, chunk)) != {width}:
        blank = [""] * width
        rows = []
        for i, r in enumerate(chunk):
            if len(r) == width:
                rows.append(r)
            else:
                pre[i] = (E.MALFORMED_ROW, f"{len(r)} fields, header has {width}")
                rows.append(blank)

    needed = plan.needed()
    table = dict(zip(needed, zip(*map(itemgetter(*needed), rows), strict=True), strict=True))
    if len(needed) == 1:
        table = {needed[0]: tuple(r[needed[0]] for r in rows)}

    def col(i: int) -> Sequence[str]:
        return table[i]

    n = len(rows)
    first = strip_all(col(plan.id_cols[0]))
    if len(plan.id_cols) == 1:
        ids = first
    else:
        rest = strip_all(_join(col, plan.id_cols[1:], plan.id_sep))
        sep = plan.id_sep
        ids = list(map(sep.join, zip(first, rest, strict=True)))  # C-level joins
        if "" in first:  # a row without the main id has no id at all
            ids = [i if a else "" for i, a in zip(ids, first, strict=True)]
    if synth is not None:
        ids = [v if v or k in pre else synth(rows[k]) for k, v in enumerate(ids)]

    occurred = plan.parse_dates(_join(col, plan.date_cols, " "))
    x, xbad = to_floats(col(plan.x_col))
    y, ybad = to_floats(col(plan.y_col))
    category = _join(col, plan.category_cols, plan.category_sep)
    if plan.address_fn is not None:
        address = plan.address_fn(col, n)
    elif plan.address_cols:
        address = _optional(_join(col, plan.address_cols, " "))
    else:
        address = [None] * n
    district: list[str | None] = (
        _optional(col(plan.district_col)) if plan.district_col is not None else [None] * n)

    cancels = None
    if plan.count_col is not None:
        counts = strip_all(col(plan.count_col))
        cancels = np.fromiter(map("-1".__eq__, counts), dtype=bool, count=n)
        if not set(counts) <= {"1", "-1"}:
            for i, c in enumerate(counts):
                if c not in ("1", "-1") and i not in pre:
                    pre[i] = (E.INVALID_COUNT, f"count {c!r}")
    return Columns(
        row_number=numbers,
        raw_rows=chunk,
        ids=ids,
        occurred_at=occurred,
        x=x,
        y=y,
        coord_bad=xbad | ybad,
        raw_category=category,
        address=address,
        district=district,
        cancels=cancels,
        pre_errors=pre,
    )
