"""State changes of the public map an agency admin makes, each with its audit record."""

from __future__ import annotations

from django.db import transaction

from agencies.models import Agency
from agencies.recording import record_action
from audit.events import Action
from public.tasks import publish_releases


@transaction.atomic
def do_publish_now(agency: Agency, *, acting_user) -> None:
    """Run the publishing job for `agency` now (queued after commit; in-process without a
    broker). It releases only due months in the range, within the budget, as the schedule."""
    record_action(Action.PUBLIC_PUBLISH_NOW, acting_user=acting_user, agency=agency,
                  object_type="agency", object_id=agency.pk)
    transaction.on_commit(lambda: publish_releases.delay(agency.pk))
