"""Forms of the data pages."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError

from predictions.ingest import FORMATS, MappingError, validate_mapping
from predictions.taxonomy import CATEGORIES

FORMAT_CHOICES = [("", "Detect automatically")] + [(name, name) for name in sorted(FORMATS)]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="Incident files",
        help_text="CSV, SLMPD monthly files, NIJ shapefile packages (.zip), Socrata or "
                  "police.uk exports; .gz/.zip/.tar.gz archives; several files at once.",
    )


class MappingField(forms.CharField):
    """A generic-CSV column mapping as JSON text."""

    widget = forms.Textarea(attrs={"rows": 6, "spellcheck": "false"})

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return validate_mapping(json.loads(value))
        except json.JSONDecodeError as exc:
            raise ValidationError(f"The mapping is not valid JSON: {exc}") from None
        except MappingError as exc:
            raise ValidationError(str(exc)) from None


class StartImportForm(forms.Form):
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False)
    preset = forms.ChoiceField(required=False, label="Saved mapping")
    mapping = MappingField(
        required=False, label="Column mapping (generic CSV, JSON)",
        help_text='e.g. {"id": "complaint", "datetime": "date_occur", "x": "lon", "y": "lat", '
                  '"category": "description"}',
    )
    save_preset_as = forms.CharField(required=False, max_length=100, label="Save mapping as")

    def __init__(self, *args, presets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.presets = {p.name: p.mapping for p in presets}
        self.fields["preset"].choices = [("", "none")] + [(n, n) for n in self.presets]

    def clean(self):
        data = super().clean()
        if data.get("preset") and not data.get("mapping"):
            data["mapping"] = self.presets[data["preset"]]
        if data.get("save_preset_as") and not data.get("mapping"):
            self.add_error("save_preset_as", "There is no mapping to save.")
        return data


class CategoryForm(forms.Form):
    raw_text = forms.CharField(max_length=200)
    category = forms.ChoiceField(
        choices=[("", "built-in rules")] + [(c, m.label) for c, m in CATEGORIES.items()],
        required=False,
    )
