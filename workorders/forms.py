"""Forms for the intake pages: the public request form and the agents' phone intake.

Forms parse and check input field by field (so an error sits beside the field
that caused it); the service ``workorder_create`` makes the change.
"""

import uuid
from datetime import timedelta

from django import forms
from django.conf import settings
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from catalog.custom_fields import intake_values_clean
from catalog.forms import custom_errors_to_form, custom_form_fields, custom_values_from, input_name
from catalog.models import CustomField, ServiceType
from catalog.selectors import custom_fields_for, service_type_by_pk, service_types_active
from core.errors import InvalidInput
from core.images import clean_image
from core.validation import normalize_phone
from customers.models import Equipment, Site

from .models import WorkOrder
from .services import DESCRIPTION_MAX


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several uploaded files under one name; cleans to a list (empty when none)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp", "multiple": True})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class _CachedServiceTypeIterator(forms.models.ModelChoiceIterator):
    """The active service types from the process's copy (workorders.selectors): no query."""

    def _types(self):
        return service_types_active()

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for service_type in self._types():
            yield self.choice(service_type)

    def __len__(self):
        return len(self._types()) + (self.field.empty_label is not None)

    def __bool__(self):
        return self.field.empty_label is not None or bool(self._types())


class ServiceTypeChoiceField(forms.ModelChoiceField):
    """An active service type, chosen by id; looked up without a query."""

    iterator = _CachedServiceTypeIterator

    def __init__(self, **kwargs):
        super().__init__(queryset=ServiceType.objects.filter(active=True), **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, ServiceType):
            value = value.pk
        found = service_type_by_pk(value)
        if found is None or not found.active:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            )
        return found


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def _invalid_to_validation_error(exc: InvalidInput, field: str) -> forms.ValidationError:
    messages = exc.fields.get(field) or [exc.message]
    return forms.ValidationError([str(m) for m in messages])


class _WindowMixin:
    """Preferred time window: both ends or neither, end after start."""

    def clean_window(self, cleaned):
        start, end = cleaned.get("preferred_start"), cleaned.get("preferred_end")
        if "preferred_start" in self.errors or "preferred_end" in self.errors:
            return
        if start and not end:
            self.add_error("preferred_end", _("Give the end of the time window too."))
        elif end and not start:
            self.add_error("preferred_start", _("Give the start of the time window too."))
        elif start and end and end <= start:
            self.add_error("preferred_end", _("The end of the time window must be after its start."))
        elif end and end <= timezone.now():
            self.add_error("preferred_end", _("This time has already passed; choose a time in the future."))


def _suggest_attrs(label, **extra) -> dict:
    """The description box's attributes for static/knowledge/suggest.js: knowledge-base articles
    that match what is typed (and the chosen service type) appear under it as the person types."""
    return {
        "data-kb-suggest": True,
        "data-kb-suggest-url": reverse_lazy("knowledge:suggest"),
        "data-kb-suggest-label": label,
        "data-kb-service-type": "service_type",
        **extra,
    }


class PublicRequestForm(_WindowMixin, forms.Form):
    """What a customer fills in on ``/request/``."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput, required=False)
    contact_name = forms.CharField(
        label=_("Your name"), max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    contact_phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        help_text=_("We send updates about your request to this number."),
    )
    contact_email = forms.EmailField(
        label=_("Email (optional)"), required=False, max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    address = forms.CharField(
        label=_("Address"), max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
        help_text=_("Where should the technician come? Include building, floor and room."),
    )
    service_type = ServiceTypeChoiceField(label=_("Service needed"), empty_label=_("Choose a service"))
    description = forms.CharField(
        label=_("What is wrong?"), max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4, **_suggest_attrs(_("These may solve it:"))}),
        help_text=_("For example: the air conditioner drips water and makes a loud noise."),
    )
    priority = forms.TypedChoiceField(
        label=_("How urgent is it?"), choices=WorkOrder.Priority.choices, coerce=int,
        initial=WorkOrder.Priority.NORMAL,
    )
    preferred_start = forms.DateTimeField(label=_("Preferred time from"), required=False, widget=DateTimeLocalInput())
    preferred_end = forms.DateTimeField(label=_("Preferred time until"), required=False, widget=DateTimeLocalInput())
    photos = MultiplePhotoField(label=_("Photos (optional)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["photos"].help_text = gettext("Up to %(n)d photos (JPEG, PNG or WebP), at most %(mb)d MB each.") % {
            "n": settings.PUBLIC_FORM_MAX_PHOTOS,
            "mb": settings.PHOTO_MAX_BYTES // (1024 * 1024),
        }
        if not self.is_bound:
            # A fresh key each time the form is shown: a double click or a
            # replayed POST carries the same key and finds the first order.
            self.initial["submission_key"] = uuid.uuid4()

    def clean_contact_phone(self):
        try:
            return normalize_phone(self.cleaned_data["contact_phone"], field="contact_phone")
        except InvalidInput as exc:
            raise _invalid_to_validation_error(exc, "contact_phone") from None

    def clean_contact_name(self):
        name = " ".join(self.cleaned_data["contact_name"].split())
        if not name:
            raise forms.ValidationError(_("This field is required."))
        return name

    def clean_address(self):
        address = " ".join(self.cleaned_data["address"].split())
        if not address:
            raise forms.ValidationError(_("This field is required."))
        return address

    def clean_photos(self):
        photos = self.cleaned_data.get("photos") or []
        limit = settings.PUBLIC_FORM_MAX_PHOTOS
        if len(photos) > limit:
            raise forms.ValidationError(
                _("Attach at most %(n)d photos; you chose %(count)d.") % {"n": limit, "count": len(photos)}
            )
        checked, errors = [], []
        for upload in photos:
            try:
                # Checked, and re-encoded without metadata (a phone photo's EXIF holds where it was taken).
                checked.append(clean_image(upload, field="photos"))
            except InvalidInput as exc:
                errors.append(str(exc.message))
        if errors:
            raise forms.ValidationError(errors)
        return checked

    def clean(self):
        cleaned = super().clean()
        self.clean_window(cleaned)
        return cleaned


class StaffIntakeForm(_WindowMixin, forms.Form):
    """An agent takes a request by phone: phone first, then the caller's sites and equipment."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput, required=False)
    contact_phone = forms.CharField(
        label=_("Caller's mobile phone"), max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autofocus": True}),
    )
    contact_name = forms.CharField(label=_("Caller's name"), max_length=120)
    contact_email = forms.EmailField(label=_("Email"), required=False, max_length=254)
    site = forms.ModelChoiceField(
        label=_("Site"), queryset=Site.objects.none(), required=False,
        empty_label=_("A new address (type it below)"),
    )
    address = forms.CharField(label=_("New address"), max_length=255, required=False)
    equipment = forms.ModelChoiceField(
        label=_("Equipment"), queryset=Equipment.objects.none(), required=False,
        empty_label=_("None or not on record"),
    )
    service_type = ServiceTypeChoiceField(label=_("Service type"), empty_label=_("Choose a service"))
    description = forms.CharField(
        label=_("Problem description"), max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(
            attrs={"rows": 4, **_suggest_attrs(_("Articles that may help:"), **{"data-kb-suggest-audience": "staff"})}
        ),
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=WorkOrder.Priority.choices, coerce=int, initial=WorkOrder.Priority.NORMAL
    )
    preferred_start = forms.DateTimeField(label=_("Preferred time from"), required=False, widget=DateTimeLocalInput())
    preferred_end = forms.DateTimeField(label=_("Preferred time until"), required=False, widget=DateTimeLocalInput())

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        if customer is not None:
            self.fields["site"].queryset = Site.objects.filter(customer=customer)
            # Retired equipment is not offered (a new order may not name it: workorder_create refuses it).
            self.fields["equipment"].queryset = (Equipment.objects.filter(customer=customer, active=True)
                                                 .select_related("site"))
            # The choices come from the prefetched lists: no query to render them.
            self.fields["site"].choices = [("", self.fields["site"].empty_label)] + [
                (s.pk, site_label(s)) for s in customer.sites.all()
            ]
            self.fields["equipment"].choices = [("", self.fields["equipment"].empty_label)] + [
                (e.pk, equipment_label(e)) for e in customer.equipment.all() if e.active
            ]
        if not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4())
        # The chosen service type's custom intake fields (from the process's copy: no query), shown
        # once a type is chosen (the page is drawn again by "Look up" or by a save that needs them).
        chosen = service_type_by_pk(self.data.get("service_type") if self.is_bound else self.initial.get("service_type"))
        self.custom_fields = custom_fields_for(chosen.pk, CustomField.Stage.INTAKE) if chosen else ()
        self.fields.update(custom_form_fields(self.custom_fields))

    @property
    def custom_inputs(self) -> list:
        return [self[input_name(field)] for field in self.custom_fields]

    @property
    def custom_types_exist(self) -> bool:
        """Whether some service type asks questions at intake (the page then offers to show them)."""
        return any(custom_fields_for(st.pk, CustomField.Stage.INTAKE) for st in service_types_active())

    def clean_contact_phone(self):
        try:
            return normalize_phone(self.cleaned_data["contact_phone"], field="contact_phone")
        except InvalidInput as exc:
            raise _invalid_to_validation_error(exc, "contact_phone") from None

    def clean_contact_name(self):
        name = " ".join(self.cleaned_data["contact_name"].split())
        if not name:
            raise forms.ValidationError(_("This field is required."))
        return name

    def clean_address(self):
        return " ".join(self.cleaned_data["address"].split())

    def _clean_custom(self, cleaned):
        """The custom fields' values, checked by the one check the API uses too (catalog/custom_fields.py)."""
        service_type = cleaned.get("service_type")
        if service_type is None:
            return
        fields = custom_fields_for(service_type.pk, CustomField.Stage.INTAKE)
        try:
            cleaned["custom"] = intake_values_clean(service_type_id=service_type.pk,
                                                    values=custom_values_from(cleaned, fields))
        except InvalidInput as exc:
            if not custom_errors_to_form(self, exc):
                self.add_error(None, str(exc.message))

    def clean(self):
        cleaned = super().clean()
        site, equipment = cleaned.get("site"), cleaned.get("equipment")
        if site is None and equipment is not None and equipment.site_id and not cleaned.get("address"):
            # The equipment's own site is where the work is, unless told otherwise.
            cleaned["site"] = site = equipment.site
        if site is None and not cleaned.get("address") and "address" not in self.errors and "site" not in self.errors:
            self.add_error("address", _("Choose one of the caller's sites or type a new address."))
        elif self.data.get("site") and cleaned.get("address"):
            self.add_error("address", _("Choose a site or type a new address, not both."))
        self.clean_window(cleaned)
        self._clean_custom(cleaned)
        return cleaned


def site_label(site: Site) -> str:
    return f"{site.label}: {site.address}" if site.label else site.address


def equipment_label(equipment: Equipment) -> str:
    text = str(equipment)
    if equipment.site_id and equipment.site:
        text = f"{text} ({equipment.site})"
    return text


class PhoneLookupForm(forms.Form):
    phone = forms.CharField(max_length=32)

    def clean_phone(self):
        try:
            return normalize_phone(self.cleaned_data["phone"], field="phone")
        except InvalidInput as exc:
            raise _invalid_to_validation_error(exc, "phone") from None


class EscalationFilterForm(forms.Form):
    """The managers' escalation list: highest level at least, whose team, how long waiting."""

    AGES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "1d": timedelta(days=1)}

    level = forms.TypedChoiceField(label=_("Highest level"), required=False, coerce=int, empty_value=None)
    team = forms.ChoiceField(label=_("Team"), required=False)
    age = forms.ChoiceField(
        label=_("Waiting"), required=False,
        choices=[("", _("Any time")), ("1h", _("over 1 hour")), ("4h", _("over 4 hours")), ("1d", _("over a day"))],
    )

    def __init__(self, *args, percents=(), partners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = [("", _("Any"))] + [(p, _("%(p)d%% and above") % {"p": p}) for p in percents]
        self.fields["team"].choices = [("", _("Everyone")), ("own", _("Own staff")), ("unassigned", _("Unassigned"))] + [
            (str(pk), name) for pk, name in partners
        ]

    def filters(self) -> dict:
        """Keyword arguments for ``sla.escalation_groups`` (empty when the form is not valid)."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        team = data.get("team") or None
        return {
            "min_percent": data.get("level"),
            "team": int(team) if team and team.isdigit() else team,
            "older_than": self.AGES.get(data.get("age") or ""),
        }


class EquipmentRequestForm(forms.Form):
    """The request form a piece of equipment's QR label opens: who, where and what are known
    (and locked), so it asks only what is wrong, with photos - and the service when the company
    names no default one for labels (``QR_REQUEST_SERVICE_TYPE``)."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput, required=False)
    service_type = ServiceTypeChoiceField(label=_("Service needed"), empty_label=_("Choose a service"))
    description = forms.CharField(
        label=_("What is wrong?"), max_length=DESCRIPTION_MAX, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For example: it makes a loud noise and stops after a few minutes."),
    )
    photos = MultiplePhotoField(label=_("Photos (optional)"), required=False)

    clean_photos = PublicRequestForm.clean_photos

    def __init__(self, *args, service_type=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_service_type = service_type
        if service_type is not None:
            del self.fields["service_type"]
        if not self.is_bound:
            self.initial["submission_key"] = uuid.uuid4()

    def clean(self):
        cleaned = super().clean()
        if self.default_service_type is not None:
            cleaned["service_type"] = self.default_service_type
        return cleaned
