"""An agency's category mapping: its own overrides, and re-mapping stored incidents
without a re-upload (the raw offence text is always kept)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count

from agencies.models import Agency
from agencies.recording import record_action
from audit.events import Action
from predictions.models import CategoryOverride, Incident
from predictions.taxonomy import CATEGORY_CODES, remap_categories


def overrides_of(agency: Agency) -> dict[str, str]:
    return dict(CategoryOverride.objects.filter(agency=agency).values_list("raw_text", "category"))


def remap(agency: Agency) -> int:
    """Re-apply the mapping to every stored incident of the agency; returns rows changed."""
    overrides = overrides_of(agency)
    groups = (
        Incident.objects.filter(agency=agency)
        .values_list("dataset__format", "raw_category").distinct()
    )
    by_format: dict[str, set[str]] = {}
    for fmt, raw in groups:
        by_format.setdefault(fmt or "", set()).add(raw)
    changed = 0
    for fmt, raws in by_format.items():
        for raw, code in remap_categories(raws, overrides, fmt or None).items():
            changed += (
                Incident.objects.filter(agency=agency, dataset__format=fmt, raw_category=raw)
                .exclude(category=code or "").update(category=code or "")
            )
    return changed


@transaction.atomic
def do_set_category(agency: Agency, raw_text: str, category: str | None, *, acting_user) -> int:
    """Map `raw_text` to `category` (None: back to the built-in rules); re-map incidents."""
    if category is not None and category not in CATEGORY_CODES:
        raise ValueError(f"{category!r} is not a standard category.")
    if category is None:
        CategoryOverride.objects.filter(agency=agency, raw_text=raw_text).delete()
    else:
        CategoryOverride.objects.update_or_create(
            agency=agency, raw_text=raw_text, defaults={"category": category}
        )
    changed = remap(agency)
    record_action(Action.DATA_CATEGORY_MAPPING, acting_user=acting_user, agency=agency,
                  object_type="category", object_id=raw_text[:64],
                  details={"category": category, "incidents_changed": changed})
    return changed


def raw_texts(agency: Agency):
    """Each raw offence text with its current category and number of incidents."""
    return (
        Incident.objects.filter(agency=agency)
        .values("raw_category", "category").annotate(n=Count("id")).order_by("-n")
    )
