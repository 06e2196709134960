"""The machine's fields every timing bench prints beside its figures: the load average
before and after the measured work, and the cores (the machine is shared)."""

from __future__ import annotations

import os


def load_fields(before: tuple[float, float, float]) -> dict[str, object]:
    """``load_average_before``/``_after`` (1, 5 and 15 minutes) and ``cores``."""
    return {"load_average_before": [round(x, 2) for x in before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "cores": os.cpu_count()}
