"""Forms of the agency workspace."""

from __future__ import annotations

import json

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Q

from agencies.models import Agency
from agencies.roles import Role
from agencies.validators import boundary_geometry, validate_boundary

MAX_BOUNDARY_BYTES = 5 * 1024 * 1024


def parse_boundary(text: str) -> dict:
    """The Polygon/MultiPolygon of a GeoJSON text (bare, Feature or one-feature collection)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"The boundary is not valid GeoJSON: {exc}") from None
    validate_boundary(value)
    geometry = boundary_geometry(value)
    assert geometry is not None  # validate_boundary refused anything else
    return geometry


def read_boundary_upload(upload) -> dict | None:
    """The boundary geometry of an uploaded GeoJSON file (None without a file)."""
    if not upload:
        return None
    if upload.size > MAX_BOUNDARY_BYTES:
        raise ValidationError("The boundary file is larger than 5 MB.")
    try:
        return parse_boundary(upload.read().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationError("The boundary file is not UTF-8 text.") from None


class AddMemberForm(forms.Form):
    user = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def clean_user(self):
        key = self.cleaned_data["user"].strip()
        users = get_user_model().objects.filter(
            Q(username__iexact=key) | Q(email__iexact=key), is_active=True
        )
        if users.count() != 1:
            raise ValidationError(
                "No single active account has that username or email. "
                "A portal administrator creates accounts; then add them here."
            )
        return users.get()


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AgencySettingsForm(forms.ModelForm):
    boundary_file = forms.FileField(
        required=False,
        label="Boundary (GeoJSON file, WGS84)",
        help_text="A Polygon or MultiPolygon, or a Feature / one-feature FeatureCollection.",
    )
    clear_boundary = forms.BooleanField(required=False, label="Remove the boundary")

    class Meta:
        model = Agency
        fields = ["name", "timezone", "cell_size_m", "train_on_enforcement_categories",
                  "enforcement_reason"]
        labels = {"enforcement_reason": "Why train on enforcement-driven categories"}
        widgets = {"enforcement_reason": forms.Textarea(attrs={"rows": 3})}

    def clean(self):
        data = super().clean() or {}
        if data.get("train_on_enforcement_categories") and not (
                data.get("enforcement_reason") or "").strip():
            self.add_error("enforcement_reason", "Give the reason: it is quoted in every "
                           "model card trained on these categories.")
        return data

    def clean_boundary_file(self):
        return read_boundary_upload(self.cleaned_data.get("boundary_file"))

    def changes(self) -> dict:
        """The changed fields as a dict for `do_update_agency_settings`."""
        changes = {name: self.cleaned_data[name] for name in self.Meta.fields}
        if self.cleaned_data.get("clear_boundary"):
            changes["boundary"] = None
        elif self.cleaned_data.get("boundary_file") is not None:
            changes["boundary"] = self.cleaned_data["boundary_file"]
        return changes


class LoginForm(AuthenticationForm):
    """Django's login form, with the attributes password managers expect."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(autocomplete="username", autofocus=True)
        self.fields["password"].widget.attrs.update(autocomplete="current-password")
