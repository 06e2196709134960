"""Fast, vectorized date parsing into ``datetime64[s]`` (``NaT`` where unreadable)."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

NAT = np.datetime64("NaT", "s")


def compose(y: np.ndarray, mo: np.ndarray, d: np.ndarray, secs: np.ndarray) -> np.ndarray:
    """Build ``datetime64[s]`` from int arrays; invalid combinations become ``NaT``."""
    y, mo, d, secs = (np.asarray(a, dtype=np.int64) for a in (y, mo, d, secs))
    valid = (y >= 1) & (y <= 9999) & (mo >= 1) & (mo <= 12) & (d >= 1)
    valid &= (secs >= 0) & (secs < 86400)
    months = ((np.where(valid, y, 1970) - 1970) * 12 + np.where(valid, mo, 1) - 1).astype(
        "datetime64[M]"
    )
    first = months.astype("datetime64[D]")
    days_in_month = ((months + 1).astype("datetime64[D]") - first).astype(np.int64)
    valid &= d <= days_in_month
    offset = (np.where(valid, d, 1) - 1) * 86400 + np.where(valid, secs, 0)
    out = first.astype("datetime64[s]") + offset.astype("timedelta64[s]")
    out[~valid] = NAT
    return out


def _time_seconds(text: str) -> int:
    """Seconds since midnight for ``H:MM[:SS][ AM|PM]``; -1 when invalid."""
    clock, _, ampm = text.partition(" ")
    parts = clock.split(":")
    if len(parts) < 2 or len(parts) > 3:
        return -1
    h = int(parts[0])
    mi = int(parts[1])
    s = int(float(parts[2])) if len(parts) == 3 else 0
    if ampm:
        ampm = ampm.strip().upper()
        if ampm not in ("AM", "PM") or not 1 <= h <= 12:
            return -1
        h = h % 12 + (12 if ampm == "PM" else 0)
    if not (0 <= h < 24 and 0 <= mi < 60 and 0 <= s < 60):
        return -1
    return h * 3600 + mi * 60 + s


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_BAD_DAY = -(2**40)


def _us_day(text: str) -> int:
    """Days since 1970-01-01 for ``M/D/YYYY`` or ``YYYY/M/D``; ``_BAD_DAY`` when invalid."""
    try:
        a, b, c = text.split("/")
        if len(a) == 4:
            y, mo, d = int(a), int(b), int(c)
        elif len(c) == 4:
            y, mo, d = int(c), int(a), int(b)
        else:
            return _BAD_DAY
        return date(y, mo, d).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return _BAD_DAY


def _clock(text: str) -> int:
    """Seconds since midnight for ``H:MM[:SS][ AM|PM]`` (empty: 0); -1 when invalid."""
    if not text:
        return 0
    try:
        return _time_seconds(text.strip())
    except ValueError:
        return -1


# Parsed date and time parts, kept across batches and files (days of a few decades, the
# clock texts of a day): bounded, and safe when threads parse at once.
_day_cached = functools.lru_cache(maxsize=100_000)(_us_day)
_clock_cached = functools.lru_cache(maxsize=100_000)(_clock)


def parse_us_datetimes(values: Sequence[str]) -> np.ndarray:
    """Parse ``M/D/YYYY[ H:MM[:SS][ AM/PM]]`` (also ``YYYY/MM/DD ...``) without strptime.

    Each distinct date part and time part is parsed once per batch (a month's file has
    a few hundred days and at most 1,440 minutes), then mapped back with dicts.
    """
    n = len(values)
    if n == 0:
        return np.empty(0, dtype="datetime64[s]")
    days_text, _, clock_text = zip(*[v.strip().partition(" ") for v in values], strict=True)
    day_of = {t: _day_cached(t) for t in set(days_text)}
    secs_of = {t: _clock_cached(t) for t in set(clock_text)}
    days = np.fromiter(map(day_of.__getitem__, days_text), dtype=np.int64, count=n)
    secs = np.fromiter(map(secs_of.__getitem__, clock_text), dtype=np.int64, count=n)
    bad = (days == _BAD_DAY) | (secs < 0)
    out = (days * 86400 + secs).astype("datetime64[s]")
    out[bad] = NAT
    return out


def parse_year_month(values: Sequence[str]) -> np.ndarray:
    """Parse ``YYYY-MM`` (police.uk ``Month``) to the first day of the month."""
    n = len(values)
    ys = [0] * n
    ms = [0] * n
    for i, text in enumerate(values):
        try:
            a, b = text.strip().split("-")
            if len(a) == 4:
                ys[i], ms[i] = int(a), int(b)
        except ValueError:
            pass
    return compose(np.array(ys), np.array(ms), np.ones(n, np.int64), np.zeros(n, np.int64))


def _aware_to_local(value: datetime, tz_name: str | None) -> np.datetime64:
    if value.tzinfo is None:
        return np.datetime64(value, "s")
    if not tz_name:
        return NAT
    local = value.astimezone(ZoneInfo(tz_name)).replace(tzinfo=None)
    return np.datetime64(local, "s")


# A naive ISO 8601 local time (no offset), as NumPy reads it exactly; NumPy alone would also
# take "now", "today", "2020" and offsets such as "-05" (converted to UTC).
_NAIVE_ISO = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
_NAIVE_ISO_COLUMN = re.compile(rf"(?:{_NAIVE_ISO})?(?:\x1f(?:{_NAIVE_ISO})?)*")


def parse_iso_datetimes(values: Sequence[str], tz_name: str | None = None) -> np.ndarray:
    """Parse ISO 8601 (date, ``T`` or space separated time, optional UTC offset in any ISO
    form: ``Z``, ``-05``, ``+0100``, ``+01:00``).

    Values with a UTC offset are converted to the wall clock of ``tz_name``; without a zone
    to convert to they are unparseable (a silent guess would shift them by hours). A column
    of plain local times (checked with one regular expression over the whole column) is
    parsed by NumPy at once; anything else value by value, so that words such as ``now``
    and partial dates such as ``2020-05`` are unparseable rather than guessed.
    """
    stripped = [v.strip() for v in values]
    if _NAIVE_ISO_COLUMN.fullmatch("\x1f".join(stripped)):
        try:
            out = np.array(stripped, dtype="datetime64[s]")
            empty = np.array([not v for v in stripped], dtype=bool)
            out[empty] = NAT
            return out
        except ValueError:  # e.g. month 13: the value-by-value path marks just that row
            pass
    out = np.empty(len(stripped), dtype="datetime64[s]")
    for i, v in enumerate(stripped):
        try:
            out[i] = _aware_to_local(datetime.fromisoformat(v), tz_name) if v else NAT
        except ValueError:
            out[i] = NAT
    return out


def parse_us_or_iso_datetimes(values: Sequence[str], tz_name: str | None = None) -> np.ndarray:
    """US dates (the portals' CSV downloads) or ISO 8601 (their API exports,
    ``2020-01-05T22:00:00.000``): values the US parser cannot read are tried as ISO."""
    out = parse_us_datetimes(values)
    retry = np.flatnonzero(np.isnat(out))
    if len(retry):
        out[retry] = parse_iso_datetimes([values[i] for i in retry.tolist()], tz_name)
    return out


_FAST_FORMATS = {
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %I:%M:%S %p",
    "%Y/%m/%d",
}


def parse_with_format(values: Sequence[str], fmt: str, tz_name: str | None = None) -> np.ndarray:
    """Parse with a strptime format (fast path for the common US formats)."""
    if fmt in _FAST_FORMATS:
        return parse_us_datetimes(values)
    out = np.empty(len(values), dtype="datetime64[s]")
    for i, v in enumerate(values):
        try:
            out[i] = _aware_to_local(datetime.strptime(v.strip(), fmt), tz_name)
        except ValueError:
            out[i] = NAT
    return out


def dates_to_datetime64(values: Sequence[date | None]) -> np.ndarray:
    """Python dates (``None`` allowed) to ``datetime64[s]`` at midnight."""
    return np.array(
        [np.datetime64(v, "D") if isinstance(v, date) else NAT for v in values],
        dtype="datetime64[s]",
    )
