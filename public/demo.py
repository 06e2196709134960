"""Demo data: the demo agency opts in to the public map and publishes its releases."""

from __future__ import annotations

from agencies.models import Agency
from public.models import PublicRelease
from public.publish import publish_agency


def seed_public(agency_slug: str = "riverton", analyst=None) -> str:
    """Publish the public releases of the demo agency (idempotent)."""
    agency = Agency.objects.get(slug=agency_slug)
    if not agency.publishes_public_map:
        agency.publishes_public_map = True
        agency.save(update_fields=["publishes_public_map"])
    result = publish_agency(agency.pk)
    total = PublicRelease.objects.filter(agency=agency).count()
    return (f"{agency.name}: public map /public/{agency.slug}/ with {total} monthly release(s) "
            f"({result['released']} new, {result['refused']} refused by the privacy budget)")
