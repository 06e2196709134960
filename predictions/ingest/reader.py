"""The entry point: ``read_incidents(...)`` streams batches from one or several uploads and
keeps an :class:`ImportSummary`; ``detect_format(...)`` previews the first rows."""

from __future__ import annotations

import csv
import gc
import os
from collections import Counter
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal, cast

from predictions.taxonomy import CategoryMapper

from .builder import Options, default_date_range
from .containers import InputLike, Limits, Member, input_name, iter_members
from .errors import IngestRefused, MappingError, RowError
from .formats import FORMATS, TEXT_FORMATS, detect_text_format, generic_csv, nij_shapefile
from .formats.tabular import FileStats, parse_table
from .geo import Area
from .records import Batch, Incident
from .textio import TextSource, is_end

MAX_ERROR_SAMPLES = 1000


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class FileReport:
    """Counts for one data file (an upload or an archive member)."""

    name: str
    format: str
    encoding: str = ""
    columns: list[str] = field(default_factory=list)
    rows_read: int = 0
    records: int = 0
    cancellations: int = 0
    withheld: int = 0
    rejected: int = 0
    blank_lines: int = 0


@dataclass
class ImportSummary:
    """Every row read is a record, a cancellation or a rejection (``balanced``)."""

    rows_read: int = 0
    records: int = 0
    cancellations: int = 0
    withheld: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    blank_lines: int = 0
    files: list[FileReport] = field(default_factory=list)
    skipped_members: list[str] = field(default_factory=list)
    error_samples: list[RowError] = field(default_factory=list)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.records + self.cancellations + self.rejected_total

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "records": self.records,
            "cancellations": self.cancellations,
            "withheld": self.withheld,
            "rejected": dict(self.rejected),
            "rejected_total": self.rejected_total,
            "blank_lines": self.blank_lines,
            "files": [asdict(f) for f in self.files],
            "skipped_members": list(self.skipped_members),
        }


def _as_inputs(inputs: InputLike | Sequence[InputLike]) -> list[InputLike]:
    if isinstance(inputs, str | os.PathLike) or hasattr(inputs, "read"):
        return [inputs]  # type: ignore[list-item]
    if isinstance(inputs, tuple) and len(inputs) == 2 and hasattr(inputs[1], "read"):
        return [cast(InputLike, inputs)]
    return list(inputs)


class IncidentReader:
    """Iterable of :class:`Batch`; ``summary`` fills in while iterating."""

    def __init__(
        self,
        inputs: list[InputLike],
        format: str | None,
        mapping: Mapping[str, Any] | None,
        options: Options,
        limits: Limits,
    ) -> None:
        if format is not None and format not in FORMATS:
            raise IngestRefused("unknown_format", f"unknown format {format!r}; known: {FORMATS}")
        if format == generic_csv.NAME and mapping is None:
            raise MappingError("format 'generic_csv' needs a column mapping")
        if mapping is not None:
            generic_csv.validate_mapping(mapping)
        self.inputs = inputs
        self.format = format
        self.mapping = mapping
        self.options = options
        self.limits = limits
        self.summary = ImportSummary()
        self._mappers: dict[str, CategoryMapper] = {}
        self._started = False
        self.tolerate_unknown = False  # previews report unknown columns instead of refusing

    def _mapper(self, fmt: str) -> CategoryMapper:
        if fmt not in self._mappers:
            self._mappers[fmt] = CategoryMapper(fmt, self.options.category_overrides)
        return self._mappers[fmt]

    def __iter__(self) -> Iterator[Batch]:
        """Batches in input order; the cyclic GC is paused while a batch is being built
        (parsing allocates no cycles, and GC passes over millions of fresh row lists
        otherwise cost about 40 % of the time); it runs normally while the caller works."""
        if self._started:
            raise RuntimeError("an IncidentReader can be iterated only once")
        self._started = True
        batches: Generator[Batch, None, None] = self._batches()  # type: ignore[assignment]
        try:
            while True:
                with _gc_paused():
                    batch = next(batches, None)
                if batch is None:
                    return
                yield batch
        finally:
            batches.close()

    def _batches(self) -> Iterator[Batch]:
        for item in self.inputs:
            skipped_before = len(self.summary.skipped_members)
            found = 0
            for member in iter_members(item, self.limits, self.summary.skipped_members):
                found += 1
                yield from self._member(member)
            if not found:
                skipped = self.summary.skipped_members[skipped_before:]
                hint = (
                    " (an Excel workbook? export it as CSV)"
                    if any(m.endswith("[Content_Types].xml") for m in skipped)
                    else ""
                )
                raise IngestRefused(
                    "unknown_format",
                    f"no CSV or shapefile data in the archive{hint}",
                    input_name(item),
                )

    def _member(self, member: Member) -> Iterator[Batch]:
        stats = FileStats()
        if member.kind == "shapefile":
            if self.format not in (None, nij_shapefile.NAME):
                raise IngestRefused(
                    "unknown_format", f"a shapefile package is not {self.format}", member.name
                )
            report = FileReport(member.name, nij_shapefile.NAME, encoding="dbf")
            batches = nij_shapefile.parse(
                member.parts,
                source=member.name,
                options=self.options,
                mapper=self._mapper(nij_shapefile.NAME),
                stats=stats,
            )
        else:
            assert member.open is not None
            text = TextSource(member.open(), member.name)
            rows = text.rows()
            try:
                header = next(rows, None)
            except csv.Error as exc:
                raise IngestRefused(
                    "unreadable", f"malformed CSV header: {exc}", member.name
                ) from exc
            if not header or is_end(header, rows, member.name):
                raise IngestRefused("unreadable", "empty file: no header row", member.name)
            try:
                fmt, plan = self._plan(header, member.name)
            except IngestRefused as exc:
                if not (self.tolerate_unknown and exc.code == "unknown_format"):
                    raise
                self.summary.files.append(FileReport(member.name, "", columns=list(header)))
                return
            report = FileReport(member.name, fmt, columns=list(header))
            batches = parse_table(
                plan,
                header,
                rows,
                source=member.name,
                options=self.options,
                mapper=self._mapper(fmt),
                stats=stats,
            )
        self.summary.files.append(report)
        for batch in batches:
            self._count(batch, report, stats)
            if member.kind == "text":
                report.encoding = text.encoding
            yield batch
        self._count(None, report, stats)

    def _plan(self, header: list[str], source: str) -> tuple[str, Any]:
        fmt = self.format
        if fmt is None:
            fmt = generic_csv.NAME if self.mapping is not None else detect_text_format(header)
        if fmt is None:
            raise IngestRefused(
                "unknown_format",
                "unrecognised columns; choose a format or give a column mapping "
                f"(generic_csv). Columns: {header[:30]}",
                source,
            )
        if fmt == generic_csv.NAME:
            mapping = dict(self.mapping or {})
            if self.options.timezone and not mapping.get("timezone"):
                mapping["timezone"] = self.options.timezone
            return fmt, generic_csv.plan(header, mapping, source)
        if fmt in TEXT_FORMATS:
            return fmt, TEXT_FORMATS[fmt].plan(header, source)
        raise IngestRefused("unknown_format", f"a CSV file cannot be read as {fmt}", source)

    def _count(self, batch: Batch | None, report: FileReport, stats: FileStats) -> None:
        """Add a batch's counts (rows read are kept current for progress reports)."""
        s = self.summary
        s.rows_read += stats.rows_read - report.rows_read
        s.blank_lines += stats.blank_lines - report.blank_lines
        report.rows_read = stats.rows_read
        report.blank_lines = stats.blank_lines
        if batch is None:
            return
        cancels = batch.n_cancellations
        records = len(batch) - cancels
        withheld = int((batch.location_withheld & ~batch.cancels).sum())
        s.records += records
        s.cancellations += cancels
        s.withheld += withheld
        report.records += records
        report.cancellations += cancels
        report.withheld += withheld
        report.rejected += len(batch.errors)
        for err in batch.errors:
            s.rejected[err.reason] += 1
        room = MAX_ERROR_SAMPLES - len(s.error_samples)
        if room > 0:
            s.error_samples.extend(batch.errors[:room])


def read_incidents(
    inputs: InputLike | Sequence[InputLike],
    format: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    *,
    category_overrides: Mapping[str, str | None] | None = None,
    strict_categories: bool = False,
    date_range: tuple[date | datetime, date | datetime] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    area: Area | None = None,
    missing_location: Literal["reject", "withheld"] = "reject",
    timezone: str | None = None,
    batch_size: int = 10_000,
    max_bytes: int = Limits.max_bytes,
    max_expanded_bytes: int = Limits.max_expanded_bytes,
    max_expand_ratio: float = Limits.max_expand_ratio,
) -> IncidentReader:
    """Stream normalized incident batches from files, paths or ``(name, fileobj)`` pairs.

    ``format`` is detected per file when ``None`` (``generic_csv`` when a ``mapping`` is
    given). Raises :class:`IngestRefused` (possibly mid-stream: wrap the import in a
    transaction) for refused uploads; rejected rows come out as ``Batch.errors``.
    """
    if bbox is not None:
        area = Area(bbox=bbox, geometry=area.geometry if area else None)
    options = Options(
        date_range=date_range or default_date_range(),
        area=area,
        missing_location=missing_location,
        strict_categories=strict_categories,
        category_overrides=dict(category_overrides or {}),
        timezone=timezone,
        batch_size=max(1, batch_size),
    )
    limits = Limits(
        max_bytes=max_bytes,
        max_expanded_bytes=max_expanded_bytes,
        max_expand_ratio=max_expand_ratio,
    )
    return IncidentReader(_as_inputs(inputs), format, mapping, options, limits)


@dataclass
class Preview:
    """What an upload looks like: detected format, columns and the first rows."""

    format: str | None
    source: str
    columns: list[str]
    encoding: str
    incidents: list[Incident]
    errors: list[RowError]
    skipped_members: list[str]


def detect_format(
    inputs: InputLike | Sequence[InputLike],
    format: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    *,
    n: int = 20,
    **kwargs: Any,
) -> Preview:
    """Read just the first ``n`` rows of the first data file (mapping applied).

    An unrecognised CSV gives ``format=None`` with its ``columns`` (to build a mapping)
    instead of a refusal; other refusals (unsafe archive, bad mapping...) still raise.
    """
    reader = read_incidents(inputs, format, mapping, batch_size=n, **kwargs)
    reader.tolerate_unknown = True
    it = iter(reader)
    batch = next(it, None)
    incidents = list(batch.records()) if batch is not None else []
    errors = list(batch.errors) if batch is not None else []
    it.close()  # type: ignore[attr-defined]
    report = reader.summary.files[0] if reader.summary.files else None
    return Preview(
        format=(report.format or None) if report else None,
        source=report.name if report else "",
        columns=report.columns if report else [],
        encoding=report.encoding if report else "",
        incidents=incidents[:n],
        errors=errors,
        skipped_members=list(reader.summary.skipped_members),
    )
