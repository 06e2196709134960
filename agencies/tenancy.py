"""The base of every tenant-owned model: an `agency` foreign key and a restricted queryset."""

from __future__ import annotations

from django.db import models

from agencies import access
from agencies.models import Agency
from agencies.roles import Role


class TenantQuerySet(models.QuerySet):
    def restrict(self, user_or_request, min_role: Role = Role.VIEWER) -> TenantQuerySet:
        """Rows of agencies where the user holds at least `min_role` (see agencies.access)."""
        return access.restrict(self, user_or_request, min_role=min_role)  # type: ignore[return-value]


class TenantOwned(models.Model):
    """Abstract base: every tenant-owned row names its agency."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True
