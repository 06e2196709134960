"""Published releases of the public crime map, and the privacy-budget ledger.

A `PublicRelease` is one agency's month, computed once from incidents with differential-privacy
noise and stored: anonymous pages and the public API read only these rows, never incidents.
"""

from __future__ import annotations

from django.db import models


class PublicRelease(models.Model):
    """Noisy monthly counts per category: per grid cell, or city-wide for sensitive ones."""

    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.CASCADE, related_name="public_releases"
    )
    month = models.DateField(help_text="First day of the month (agency time zone).")
    grid = models.JSONField(help_text="crs, cell_size, origin_x, origin_y, nx, ny.")
    cells = models.JSONField(help_text="Active cell indices, in the order of every count list.")
    counts = models.JSONField(help_text="{category: [noisy count per active cell]}.")
    city_counts = models.JSONField(
        default=dict, help_text="{category: noisy city-wide count}, sensitive categories only."
    )
    epsilon = models.FloatField()
    mechanism = models.CharField(max_length=100)
    delay_days = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agency", "month"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "month"], name="one_release_per_month"),
        ]

    def __str__(self) -> str:
        return f"{self.agency} · {self.month:%Y-%m}"

    @property
    def month_key(self) -> str:
        return f"{self.month:%Y-%m}"


class BudgetEntry(models.Model):
    """One line of an agency's privacy-budget ledger: every release spends its epsilon."""

    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.CASCADE, related_name="privacy_ledger"
    )
    release = models.OneToOneField(
        PublicRelease, null=True, on_delete=models.SET_NULL, related_name="ledger_entry"
    )
    month = models.DateField()
    epsilon = models.FloatField()
    spent_before = models.FloatField()
    total_budget = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agency", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.agency} · {self.month:%Y-%m} · ε={self.epsilon:g}"
