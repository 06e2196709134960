"""Agency roles, ordered from least to most privileged."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer (views forecasts)"
    ANALYST = "analyst", "Analyst (uploads data, trains models)"
    ADMIN = "admin", "Admin (manages members and settings)"

    @property
    def rank(self) -> int:
        return ROLE_ORDER.index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= Role(other).rank

    @classmethod
    def at_least_list(cls, minimum: Role) -> list[str]:
        """The role values that satisfy `minimum`, for queryset filters."""
        return [role.value for role in ROLE_ORDER[Role(minimum).rank :]]


ROLE_ORDER = [Role.VIEWER, Role.ANALYST, Role.ADMIN]
