"""The inputs of a service type's custom fields on the pages (staff intake, the technician's
completion form). The pages only collect the values; ``catalog.custom_fields.custom_values_clean``
checks them, as it does for the API."""

from django import forms
from django.utils.translation import gettext as _

from core.errors import InvalidInput

from .custom_fields import field_options
from .models import CustomField

PREFIX = "custom_"
Kind = CustomField.Kind


def input_name(field: CustomField) -> str:
    """The name of a custom field's input on a page."""
    return f"{PREFIX}{field.key}"


def _form_field(field: CustomField) -> forms.Field:
    required = {"required": _("%(field)s is required.") % {"field": field.label}}
    common = {"label": field.label, "required": field.required, "error_messages": required}
    kind = field.kind
    if kind == Kind.TEXT:
        return forms.CharField(max_length=1000, **common)
    if kind == Kind.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}), **common)
    if kind == Kind.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == Kind.CHOICE:
        options = [("", "—")] + field_options(field)
        return forms.CharField(widget=forms.Select(choices=options), **common)
    if kind == Kind.YESNO:
        return forms.CharField(widget=forms.Select(choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))]), **common)
    if kind == Kind.PHOTO:
        attrs = {"accept": "image/jpeg,image/png,image/webp", "capture": "environment"}
        return forms.FileField(widget=forms.FileInput(attrs=attrs), **common)
    raise ValueError(kind)


def custom_form_fields(fields) -> dict[str, forms.Field]:
    """The form fields (by input name) of ``fields``, custom fields of one service type and stage."""
    return {input_name(field): _form_field(field) for field in fields}


def custom_values_from(cleaned_data: dict, fields) -> dict:
    """key → value as typed (empty left out), for ``custom_values_clean``."""
    values = {}
    for field in fields:
        value = cleaned_data.get(input_name(field))
        if value not in (None, ""):
            values[field.key] = value
    return values


def custom_errors_to_form(form: forms.Form, exc: InvalidInput) -> bool:
    """Put a custom-field error (``custom.<key>``) beside its input; True if any was placed or was
    there already."""
    placed = False
    for name, messages in (exc.fields or {}).items():
        if name.startswith("custom."):
            target = PREFIX + name[len("custom."):]
            if target in form.errors:
                placed = True
                continue  # already said beside it (a required one left empty)
            for message in messages:
                form.add_error(target if target in form.fields else None, str(message))
                placed = True
    return placed
