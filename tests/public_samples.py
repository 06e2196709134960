"""A published public map for agency A, quickly: a small synthetic city, released."""

from __future__ import annotations


def publish_alpha(world, n_days: int = 62):
    """Import two months of the synthetic city into alpha (once) and publish its releases."""
    from django.core.cache import cache

    from predictions.demo import MAPPING, synthetic_csv
    from public.models import PublicRelease
    from public.publish import publish_agency
    from tests.samples import import_sample

    alpha = world.alpha
    if not PublicRelease.objects.filter(agency=alpha).exists():
        text, boundary = synthetic_csv(n_days=n_days)
        alpha.boundary = boundary
        alpha.publishes_public_map = True
        alpha.save(update_fields=["boundary", "publishes_public_map"])
        import_sample(alpha, world.anna, text=text, mapping=MAPPING, name="city.csv")
        publish_agency(alpha.pk)
        cache.clear()
    return {"slug": alpha.slug}
