"""The stated purpose of access: chosen before any forecast is shown, carried into the audit
record of every read it covers (kept in the session, per agency)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django import forms
from django.conf import settings

from agencies.models import Agency

SESSION_KEY = "access-purpose:{}"


@dataclass
class Purpose:
    code: str
    label: str
    note: str


class PurposeRefused(ValueError):
    """A stated purpose the agency does not accept (`field`: "purpose" or "note")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def stated_purpose(agency: Agency, code: str, note: str) -> Purpose:
    """The purpose `code` with its `note`, by the agency's rules: one of its purpose codes,
    and a note with "other". Raises PurposeRefused."""
    label = agency.purpose_label(code)
    if label is None:
        codes = ", ".join(c for c, _ in agency.access_purposes)
        raise PurposeRefused("purpose", f"State a purpose: one of {codes}.")
    if code == "other" and not note.strip():
        raise PurposeRefused("note", "Say why in the note when the purpose is 'other'.")
    return Purpose(code, label, note.strip())


class PurposeForm(forms.Form):
    purpose = forms.ChoiceField(label="Why are you opening this forecast?")
    note = forms.CharField(
        required=False, max_length=500, label="Note (optional)",
        widget=forms.TextInput(attrs={"placeholder": "e.g. night shift, district 3"}),
    )

    def __init__(self, *args, agency: Agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        self.fields["purpose"].choices = [(c, label) for c, label in agency.access_purposes]

    def clean(self):
        data = super().clean()
        if "purpose" in data:
            try:
                stated_purpose(self.agency, data["purpose"], data.get("note", ""))
            except PurposeRefused as refused:
                self.add_error(refused.field, str(refused))
        return data


def set_purpose(request, agency: Agency, code: str, note: str) -> None:
    request.session[SESSION_KEY.format(agency.pk)] = {"code": code, "note": note.strip(),
                                                      "at": int(time.time())}


def current_purpose(request, agency: Agency) -> Purpose | None:
    """The purpose stated in this session for this agency, if still fresh."""
    stored = request.session.get(SESSION_KEY.format(agency.pk))
    if not stored or time.time() - stored["at"] > settings.ACCESS_PURPOSE_SECONDS:
        return None
    label = agency.purpose_label(stored["code"])
    return Purpose(stored["code"], label, stored["note"]) if label else None
