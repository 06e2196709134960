"""Forms of onboarding: a new agency, an invitation, accepting one, and a factor's code."""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError

from agencies.forms import MAX_BOUNDARY_BYTES, parse_boundary, read_boundary_upload
from agencies.models import DEFAULT_ACCESS_PURPOSES, Agency, BoardRole, OversightBoard
from agencies.roles import Role

PURPOSE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _timezone_choices() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(available_timezones()) if "/" in z or z == "UTC"]


def purposes_text(purposes) -> str:
    return "\n".join(f"{code} | {label}" for code, label in purposes)


class NewAgencyForm(forms.ModelForm):
    """A new agency. The boundary file is read in the browser and drawn on the map before
    saving (static/js/boundary_preview.js puts its text into `boundary_geojson`); without
    JavaScript the file itself is read here."""

    boundary_file = forms.FileField(
        required=False, label="Boundary (GeoJSON file, WGS84)",
        help_text="A Polygon or MultiPolygon, or a Feature / one-feature FeatureCollection. "
                  "It is drawn on the map below before you save.",
        widget=forms.ClearableFileInput(attrs={"accept": ".geojson,.json,application/geo+json"}))
    boundary_geojson = forms.CharField(required=False, widget=forms.HiddenInput,
                                       max_length=MAX_BOUNDARY_BYTES)
    purposes = forms.CharField(
        label="Access purposes", widget=forms.Textarea(attrs={"rows": 7}),
        initial=purposes_text(DEFAULT_ACCESS_PURPOSES),
        help_text="One per line: code | label. A member states one of them before a forecast "
                  "is shown. Codes: lower-case letters, digits and _.")

    class Meta:
        model = Agency
        fields = ["name", "slug", "timezone", "cell_size_m"]
        help_texts = {"slug": "Its address: /a/<slug>/ (lower-case letters, digits, -)."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"] = forms.ChoiceField(choices=_timezone_choices(), initial="UTC",
                                                    label="Time zone")

    def clean_boundary_file(self):
        return read_boundary_upload(self.cleaned_data.get("boundary_file"))

    def clean_boundary_geojson(self):
        text = (self.cleaned_data["boundary_geojson"] or "").strip()
        return parse_boundary(text) if text else None

    def clean_purposes(self) -> list[list[str]]:
        purposes: list[list[str]] = []
        for number, line in enumerate(self.cleaned_data["purposes"].splitlines(), 1):
            if not line.strip():
                continue
            code, bar, label = (part.strip() for part in line.partition("|"))
            if not bar or not PURPOSE_CODE.match(code) or not label or len(label) > 200:
                raise ValidationError(f"Line {number}: write `code | label`, the code in "
                                      "lower-case letters, digits and _.")
            if code in (c for c, _ in purposes):
                raise ValidationError(f"Line {number}: the code {code} is there twice.")
            purposes.append([code, label])
        if not purposes:
            raise ValidationError("Give at least one purpose.")
        return purposes

    def values(self) -> dict:
        """The new agency's fields, for `do_create_agency`."""
        data = self.cleaned_data
        return {"name": data["name"], "slug": data["slug"], "timezone": data["timezone"],
                "cell_size_m": data["cell_size_m"], "access_purposes": data["purposes"],
                "boundary": data["boundary_file"] or data["boundary_geojson"]}


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args, initial_role: Role | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if initial_role is not None:
            self.fields["role"].initial = initial_role


class BoardInviteForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=BoardRole.choices, initial=BoardRole.MEMBER)


class NewBoardForm(forms.ModelForm):
    """A new oversight board (its chair is invited next; agencies grant it their trail)."""

    class Meta:
        model = OversightBoard
        fields = ["name", "slug", "description"]
        help_texts = {"slug": "Lower-case letters, digits and -."}


class AcceptForm(UserCreationForm):
    """A new account for the invited email: a username and a password (validated against
    the portal's rules and the email)."""

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.email = email  # the password may not resemble it
        self.fields["username"].widget.attrs.update(autocomplete="username")
        self.fields["password1"].widget.attrs.update(autocomplete="new-password")
        self.fields["password2"].widget.attrs.update(autocomplete="new-password")


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                      "spellcheck": "false", "autocapitalize": "off"}))
