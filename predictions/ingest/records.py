"""The normalized incident batch (columnar NumPy arrays) and helpers around it.

Convention: ``occurred_at`` is ``datetime64[s]`` holding the *local wall-clock* time of the
agency (``Batch.timezone`` names the zone when the format knows it, e.g. SLMPD
America/Chicago); use :func:`make_aware` to get aware datetimes. ``NaT`` only appears on
cancellation rows whose own date could not be read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from .errors import RowError

NAT = np.datetime64("NaT", "s")

COLUMNS = (
    "source_id",
    "occurred_at",
    "raw_category",
    "category",
    "lon",
    "lat",
    "address",
    "district",
    "location_withheld",
    "cancels",
    "row_number",
)


@dataclass(slots=True)
class Incident:
    """One normalized row (convenient, slower view of a batch row)."""

    source_id: str
    occurred_at: datetime | None
    raw_category: str
    category: str | None
    lon: float
    lat: float
    address: str | None
    district: str | None
    location_withheld: bool
    cancels: bool
    row_number: int
    source: str = ""


@dataclass(slots=True)
class Batch:
    """Up to ``batch_size`` rows of one input file, column by column.

    ``source_id``, ``raw_category``, ``category``, ``address``, ``district`` are object
    arrays of ``str`` (``category``/``address``/``district`` may hold ``None``); ``lon``/``lat``
    float64 WGS84 (NaN when withheld or, on cancellations, unknown); ``location_withheld``
    and ``cancels`` bool; ``row_number`` int64 (1-based, header = row 1). ``errors`` holds
    the rejected rows of the same stretch of the file.
    """

    source: str
    format: str
    source_id: np.ndarray
    occurred_at: np.ndarray
    raw_category: np.ndarray
    category: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    address: np.ndarray
    district: np.ndarray
    location_withheld: np.ndarray
    cancels: np.ndarray
    row_number: np.ndarray
    date_precision: str = "minute"
    timezone: str | None = None
    errors: list[RowError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.source_id)

    @property
    def n_cancellations(self) -> int:
        return int(self.cancels.sum())

    def select(self, mask: np.ndarray) -> Batch:
        """A batch with only the rows ``mask`` selects (booleans, or ascending positions);
        errors are kept."""
        cols = {name: getattr(self, name)[mask] for name in COLUMNS}
        return Batch(
            source=self.source,
            format=self.format,
            date_precision=self.date_precision,
            timezone=self.timezone,
            errors=self.errors,
            **cols,
        )

    def records(self) -> Iterator[Incident]:
        """Iterate the rows as :class:`Incident` objects."""
        when = self.occurred_at.astype(object)
        for i in range(len(self)):
            yield Incident(
                source_id=self.source_id[i],
                occurred_at=when[i],
                raw_category=self.raw_category[i],
                category=self.category[i],
                lon=float(self.lon[i]),
                lat=float(self.lat[i]),
                address=self.address[i],
                district=self.district[i],
                location_withheld=bool(self.location_withheld[i]),
                cancels=bool(self.cancels[i]),
                row_number=int(self.row_number[i]),
                source=self.source,
            )

    def aware_datetimes(self, tz_name: str | None = None) -> list[datetime | None]:
        """``occurred_at`` as aware datetimes in ``tz_name`` (default: the batch's zone)."""
        name = tz_name or self.timezone
        if not name:
            raise ValueError("no timezone known for this batch; pass tz_name")
        return [make_aware(v, name) for v in self.occurred_at.astype(object)]


def make_aware(value: datetime | np.datetime64 | None, tz_name: str) -> datetime | None:
    """Attach the agency zone to a naive local wall-clock time.

    Ambiguous wall times (the repeated hour when DST ends) resolve to the first
    occurrence (``fold=0``); times that do not exist (DST start) are kept as given and
    ``zoneinfo`` applies the pre-transition offset.
    """
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        value = value.astype("datetime64[s]").astype(object)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=ZoneInfo(tz_name))


def utc_times(local: np.ndarray, tz_name: str) -> np.ndarray:
    """Local wall-clock ``datetime64[s]`` to UTC ``datetime64[s]`` by the zone's rules, as
    :func:`make_aware` reads them (the repeated hour at the end of DST is its first
    occurrence; a time that does not exist keeps the offset before the change). ``NaT``
    stays ``NaT``.

    The offset is looked up once per distinct local day (checked at both ends of the day;
    the few days with a change inside them are converted value by value), so the work
    does not grow with the rows.
    """
    out = np.full(len(local), NAT, dtype="datetime64[s]")
    ok = ~np.isnat(local)
    if not ok.any():
        return out
    zone = ZoneInfo(tz_name)
    values = local[ok].astype("datetime64[s]")
    days, inverse = np.unique(values.astype("datetime64[D]"), return_inverse=True)
    offsets = np.empty(len(days), dtype=np.int64)
    mixed = np.zeros(len(days), dtype=bool)
    for k, day in enumerate(days.astype("datetime64[s]").astype(object).tolist()):
        first = day.replace(tzinfo=zone).utcoffset()
        last = (day + timedelta(seconds=86399)).replace(tzinfo=zone).utcoffset()
        offsets[k] = int(first.total_seconds())
        mixed[k] = first != last
    utc = values - offsets[inverse].astype("timedelta64[s]")
    for i in np.flatnonzero(mixed[inverse]).tolist():
        aware = make_aware(values[i], tz_name)
        assert aware is not None  # values[i] is a valid time (ok)
        utc[i] = np.datetime64(aware.astimezone(UTC).replace(tzinfo=None), "s")
    out[ok] = utc
    return out


def empty_batch(source: str, format: str, **kwargs: object) -> Batch:
    """A batch with no rows (used to carry only errors)."""
    obj = np.empty(0, dtype=object)
    return Batch(
        source=source,
        format=format,
        source_id=obj,
        occurred_at=np.empty(0, dtype="datetime64[s]"),
        raw_category=obj,
        category=obj,
        lon=np.empty(0),
        lat=np.empty(0),
        address=obj,
        district=obj,
        location_withheld=np.empty(0, dtype=bool),
        cancels=np.empty(0, dtype=bool),
        row_number=np.empty(0, dtype=np.int64),
        **kwargs,  # type: ignore[arg-type]
    )


def concat_batches(batches: Iterable[Batch]) -> Batch:
    """Concatenate batches into one (materializes everything; for backtests and tests)."""
    items = list(batches)
    if not items:
        return empty_batch("", "")
    cols = {name: np.concatenate([getattr(b, name) for b in items]) for name in COLUMNS}
    names = {b.source for b in items}
    zones = {b.timezone for b in items}
    precisions = {b.date_precision for b in items}
    return Batch(
        source=items[0].source if len(names) == 1 else "(several)",
        format=items[0].format if len({b.format for b in items}) == 1 else "(several)",
        date_precision=precisions.pop() if len(precisions) == 1 else "mixed",
        timezone=zones.pop() if len(zones) == 1 else None,
        errors=[e for b in items for e in b.errors],
        **cols,
    )


@dataclass(slots=True)
class CancellationStats:
    matched: int = 0
    matched_later: int = 0
    orphaned: int = 0


def apply_cancellations(batches: Iterable[Batch]) -> tuple[Batch, CancellationStats]:
    """Net records: each cancellation removes one record with the same ``source_id``.

    A cancellation removes the most recent earlier live record with its id; if none came
    before it (SLMPD sometimes lists the -1 row just above the +1 row), it removes the next
    record with that id that follows. Cancellations that match nothing are ``orphaned``
    (their record predates the data). Materializes all rows.
    """
    whole = concat_batches(batches)
    keep = ~whole.cancels
    live: dict[str, list[int]] = defaultdict(list)
    pending: dict[str, int] = defaultdict(int)
    stats = CancellationStats()
    pairs = zip(whole.source_id.tolist(), whole.cancels.tolist(), strict=True)
    for i, (sid, cancel) in enumerate(pairs):
        if cancel:
            stack = live.get(sid)
            if stack:
                keep[stack.pop()] = False
                stats.matched += 1
            else:
                pending[sid] += 1
        elif pending.get(sid):
            pending[sid] -= 1
            keep[i] = False
            stats.matched_later += 1
        else:
            live[sid].append(i)
    stats.orphaned = sum(pending.values())
    return whole.select(keep), stats
