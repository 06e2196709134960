"""Every workbench read is recorded, in the transaction that serves it.

The pages show counts by named area, not incidents, but their forecasts are predictions, as
the forecast map's are, so every page read and download is recorded alike (nothing is served
when the record cannot be written)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction
from django.http import HttpRequest

import audit
from audit.events import Action
from predictions.workbench.choices import Choice

T = TypeVar("T")


def audited(request: HttpRequest, choice: Choice, page: str, read: Callable[[], T], *,
            action: Action = Action.WORKBENCH_VIEW, details: dict[str, Any] | None = None) -> T:
    """`read()` and its audit record, together or not at all."""
    with transaction.atomic():
        result = read()
        audit.record(action=action, request=request,
                     actor_role=choice.agency.member_role.value, agency=choice.agency,
                     object_type="workbench", object_id=page,
                     details={"page": page, **choice.details(), **(details or {})})
    return result
