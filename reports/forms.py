"""The dashboard's filters: a date range, a service type, a partner company, a technician."""

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from workorders.selectors import technician_choices
from technicians.models import PartnerCompany, Technician
from catalog.models import ServiceType

DEFAULT_DAYS = 30
MAX_DAYS = 400
OWN_STAFF = "own"


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    service_type_id: int | None = None
    # A partner company's id, OWN_STAFF for our own technicians, or None for everyone.
    partner: int | str | None = None
    technician_id: int | None = None

    def query(self) -> dict:
        """The query-string parameters that give these filters (for links to exports)."""
        out = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        if self.service_type_id:
            out["service_type"] = self.service_type_id
        if self.partner:
            out["partner"] = self.partner
        if self.technician_id:
            out["technician"] = self.technician_id
        return out


def _id_or_error(value, message):
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise forms.ValidationError(message, code="invalid_choice")
    return int(value)


class DashboardFilterForm(forms.Form):
    # Dates and ids arrive as text and are checked here, so that "2025-02-30" or
    # "technician=999" gets a message next to the field, never a server error.
    date_from = forms.DateField(
        label=_("From"), required=False, input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )
    date_to = forms.DateField(
        label=_("To"), required=False, input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )
    service_type = forms.CharField(label=_("Service type"), required=False)
    partner = forms.CharField(label=_("Partner company"), required=False)
    technician = forms.CharField(label=_("Technician"), required=False)

    # Query-string names (short, stable: a browser test and bookmarks use them).
    PARAMS = {"from": "date_from", "to": "date_to", "service_type": "service_type", "partner": "partner",
              "technician": "technician"}

    @classmethod
    def from_query(cls, query) -> "DashboardFilterForm":
        return cls({field: query.get(param, "") for param, field in cls.PARAMS.items()})

    def clean_service_type(self):
        pk = _id_or_error(self.cleaned_data.get("service_type"), _("Unknown service type."))
        if pk is not None and not ServiceType.objects.filter(pk=pk).exists():
            raise forms.ValidationError(_("Unknown service type."), code="invalid_choice")
        return pk

    def clean_partner(self):
        value = (self.cleaned_data.get("partner") or "").strip()
        if value == OWN_STAFF:
            return OWN_STAFF
        pk = _id_or_error(value, _("Unknown partner company."))
        if pk is not None and not PartnerCompany.objects.filter(pk=pk).exists():
            raise forms.ValidationError(_("Unknown partner company."), code="invalid_choice")
        return pk

    def clean_technician(self):
        pk = _id_or_error(self.cleaned_data.get("technician"), _("Unknown technician."))
        if pk is not None and not Technician.objects.filter(pk=pk).exists():
            raise forms.ValidationError(_("Unknown technician."), code="invalid_choice")
        return pk

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        date_to = data.get("date_to") or timezone.localdate()
        date_from = data.get("date_from") or date_to - timedelta(days=DEFAULT_DAYS - 1)
        if date_from > date_to:
            self.add_error("date_to", _("The end date must not be before the start date."))
        elif (date_to - date_from).days + 1 > MAX_DAYS:
            self.add_error("date_to", _("Choose a range of at most %(n)d days.") % {"n": MAX_DAYS})
        data["date_from"], data["date_to"] = date_from, date_to
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            date_from=data["date_from"], date_to=data["date_to"], service_type_id=data.get("service_type"),
            partner=data.get("partner"), technician_id=data.get("technician"),
        )

    def choices(self) -> dict:
        """Options for the filter selects (a manager's handful of service types, partners, technicians)."""
        return {
            "service_types": list(ServiceType.objects.order_by("name").values_list("pk", "name")),
            "partners": list(PartnerCompany.objects.order_by("name").values_list("pk", "name")),
            "technicians": technician_choices(),  # kept per process (reference data)
        }
