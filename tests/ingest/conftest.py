"""Fixtures for the ingest tests (real data read from ../shared/data, never copied)."""

from __future__ import annotations

import pytest
from ingest_helpers import SLMPD_TAR, need

from predictions.ingest import Batch, ImportSummary, concat_batches, read_incidents


@pytest.fixture(scope="session")
def slmpd() -> tuple[Batch, ImportSummary]:
    """All 60 SLMPD monthly files, parsed once for the session."""
    reader = read_incidents(need(SLMPD_TAR))
    whole = concat_batches(reader)
    return whole, reader.summary
