"""Audit records of state changes: the acting user, with their role in the agency."""

from __future__ import annotations

from typing import Any

import audit
from agencies.access import role_of
from agencies.models import Agency
from audit.events import Action
from audit.models import AccessEvent


def record_action(action: Action, *, acting_user: Any, agency: Agency | None,
                  **fields: Any) -> AccessEvent:
    """``audit.record`` of a change `acting_user` made (None: the system) in `agency`."""
    return audit.record(action=action, actor=acting_user, actor_role=role_of(acting_user, agency),
                        agency=agency, **fields)
