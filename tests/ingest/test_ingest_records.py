"""Batch helpers: aware datetimes, cancellations, speed."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import numpy as np
from ingest_helpers import SLMPD_HEADER, SLMPD_TAR, need, slmpd_row, write_csv

from predictions.ingest import apply_cancellations, make_aware, read_incidents


def test_make_aware_local_time():
    chicago = make_aware(np.datetime64("2019-07-01T12:00"), "America/Chicago")
    assert chicago.utcoffset() == timedelta(hours=-5)
    winter = make_aware(datetime(2019, 1, 1, 12), "America/Chicago")
    assert winter.utcoffset() == timedelta(hours=-6)
    assert make_aware(np.datetime64("NaT"), "UTC") is None
    ambiguous = make_aware(datetime(2019, 11, 3, 1, 30), "America/Chicago")
    assert ambiguous.utcoffset() == timedelta(hours=-5)  # first occurrence (fold=0)


def test_batch_views(tmp_path):
    path = write_csv(tmp_path / "m.csv", [SLMPD_HEADER, slmpd_row(), slmpd_row(x="0", y="0")])
    batch = next(iter(read_incidents(path)))
    aware = batch.aware_datetimes()
    assert aware[0].isoformat() == "2019-01-02T13:45:00-06:00"
    rows = list(batch.records())
    assert rows[0].occurred_at == datetime(2019, 1, 2, 13, 45) and rows[0].row_number == 2
    assert rows[1].location_withheld and np.isnan(rows[1].lon)
    assert batch.select(batch.location_withheld).source_id.tolist() == ["19-000001:31111"]


def test_cancellation_order(tmp_path):
    rows = [
        SLMPD_HEADER,
        slmpd_row(complaint="A", count="-1"),  # before its record (same release)
        slmpd_row(complaint="A"),
        slmpd_row(complaint="B"),
        slmpd_row(complaint="B"),  # two victims
        slmpd_row(complaint="B", count="-1"),
        slmpd_row(complaint="C", count="-1"),  # record predates the data
    ]
    net, stats = apply_cancellations(read_incidents(write_csv(tmp_path / "c.csv", rows)))
    assert net.source_id.tolist() == ["B:31111"]
    assert (stats.matched, stats.matched_later, stats.orphaned) == (1, 1, 1)


def test_batches_stream_and_parse_fast():
    """Batches are bounded; well over 100,000 rows/s of CPU on the SLMPD files."""
    need(SLMPD_TAR)
    start = time.process_time()
    reader = read_incidents(SLMPD_TAR, batch_size=5_000)
    largest = 0
    for batch in reader:
        largest = max(largest, len(batch) + len(batch.errors))
    cpu = time.process_time() - start
    assert largest <= 5_000
    assert reader.summary.rows_read == 246_291
    assert reader.summary.rows_read / cpu > 60_000  # ~120k/s measured; slack for shared CPUs


def test_peak_memory_stays_flat(tmp_path):
    """30,000 rows (4.5 MB of text, ~40 MB as Python rows) stream through in little memory."""
    import gzip
    import tracemalloc

    from ingest_helpers import csv_bytes

    block = csv_bytes([slmpd_row(complaint=f"19-{i:06d}") for i in range(1000)])
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(csv_bytes([SLMPD_HEADER]) + block * 30))
    tracemalloc.start()
    try:
        reader = read_incidents(path, batch_size=2_000)
        rows = sum(len(b) for b in reader)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 30_000 and reader.summary.balanced
    assert peak < 8_000_000  # measured ~4.8 MB


def test_reader_is_single_use(tmp_path):
    import pytest

    reader = read_incidents(write_csv(tmp_path / "m.csv", [SLMPD_HEADER, slmpd_row()]))
    list(reader)
    with pytest.raises(RuntimeError):
        list(reader)


def test_summary_is_current_while_streaming(tmp_path):
    rows = [SLMPD_HEADER] + [slmpd_row(complaint=f"19-{i}") for i in range(25)]
    reader = read_incidents(write_csv(tmp_path / "m.csv", rows), batch_size=10)
    seen = [reader.summary.rows_read for _ in reader]
    assert seen == [10, 20, 25] and reader.summary.balanced
