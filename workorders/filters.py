"""Work-order filters, shared by the staff queue page and the API list."""

import copy
from datetime import datetime
from decimal import Decimal
from html import escape as html_escape

import django_filters
from django_filters.fields import MultipleChoiceField
from django.db.models import Model
from django.forms import ModelChoiceField, NullBooleanSelect, Select
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from catalog.models import ServiceType
from catalog.selectors import SERVICE_TYPES, service_types_all
from core.filters import IdFilter, UtcDateTimeFilter, YesNoAnyFilter
from technicians.models import Technician

from .lifecycle import Status
from .models import WorkOrder, parse_number
from .selectors import TECHNICIAN_CHOICES, technician_choices


class _ChoicesField(MultipleChoiceField):
    """Several choices; an empty value (``?status=``) is dropped, as every filter ignores one."""

    def to_python(self, value):
        return [v for v in super().to_python(value) if v != ""]


class MultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    field_class = _ChoicesField


class WorkOrderFilter(django_filters.FilterSet):
    # distinct=False: these filter columns of the work order itself (no joins that
    # could repeat rows); a SELECT DISTINCT would defeat the keyset index scan.
    status = MultipleChoiceFilter(choices=Status.choices, label=_("Status"), distinct=False)
    priority = MultipleChoiceFilter(
        choices=WorkOrder.Priority.choices, label=_("Priority"), distinct=False
    )
    service_type = django_filters.ModelChoiceFilter(queryset=ServiceType.objects.all(), label=_("Service type"))
    technician = django_filters.ModelChoiceFilter(
        queryset=Technician.objects.select_related("user"), label=_("Technician")
    )
    unassigned = YesNoAnyFilter(field_name="technician", lookup_expr="isnull", label=_("Unassigned"))
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))
    phone = django_filters.CharFilter(field_name="customer__phone", label=_("Customer phone"))
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte", label=_("Created from"))
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt", label=_("Created before"))
    due_after = UtcDateTimeFilter(field_name="appointment_end", lookup_expr="gte", label=_("Due from"))
    due_before = UtcDateTimeFilter(field_name="appointment_end", lookup_expr="lt", label=_("Due before"))
    number = django_filters.CharFilter(method="filter_number", label=_("Number"))

    class Meta:
        model = WorkOrder
        fields = []

    def filter_number(self, queryset, name, value):
        pk = parse_number(value)
        return queryset.filter(pk=pk) if pk is not None else queryset.none()

    # Built once per process, not once per request: the form class (from the filters'
    # fields) never changes. Its fields are shared by every form (``_SharedFields``).
    _form_class = None

    def get_form_class(self):
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:
            form_class = super().get_form_class()
            form_class.base_fields = _SharedFields(form_class.base_fields)
            cls._form_class = form_class
        return cls._form_class


def filters_key(form) -> tuple | None:
    """What a valid filter form asks for, as a hashable key: equal keys filter alike (a
    model choice by its id, a datetime with its offset). None for a value of a kind not
    known here. The lists key their compiled SQL by it (core.pagination.keyset_page_compiled)."""
    parts = []
    for name, value in sorted(form.cleaned_data.items()):
        frozen = _frozen(value)
        if frozen is None:
            return None
        parts.append((name, frozen))
    return tuple(parts)


def _frozen(value):
    if value is None or type(value) in (str, bool, int):
        return (type(value).__name__, value)
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    if isinstance(value, datetime):
        return ("datetime", value.isoformat())
    if isinstance(value, Model) and value.pk is not None:
        return ("model", value._meta.label, value.pk)
    if type(value) in (list, tuple):
        items = tuple(_frozen(item) for item in value)
        return None if None in items else ("list", items)
    return None


class _SharedFields(dict):
    """A filter form's ``base_fields`` that every form instance shares instead of deep-copying
    them (Django copies them so that one form may change its fields; the copy of twelve
    fields with their choices and querysets cost more than validating them).

    Nothing changes one of these fields or widgets after the class is built: a form may
    drop fields from its own ``fields`` (a dict of its own), and the queue passes its
    placeholders to ``filter_controls`` rather than setting them on a widget. Validation
    reads the fields only; a model choice is looked up with a new queryset each time."""

    def __deepcopy__(self, memo):
        return dict(self)


class _ShallowCopies(dict):
    """``base_filters`` whose deep copy (every FilterSet instance makes one) copies each
    filter shallowly: a filter's settings never change after the class is built, and a
    deep copy of twelve filters with their querysets cost more than the list query."""

    def __deepcopy__(self, memo):
        copies = {}
        for name, original in self.items():
            copy_ = copy.copy(original)
            if original.method is not None:
                copy_.method = original.method  # a FilterMethod bound to the copy (and its FilterSet)
            copies[name] = copy_
        return copies


WorkOrderFilter.base_filters = _ShallowCopies(WorkOrderFilter.base_filters)


# --- The queue page's filter controls, without Django's widget templates ----------------------
# Rendering a form through the widget templates costs a template render per field and
# per option: with hundreds of technicians that was most of the queue page's time.
# These build the same markup directly; the technician options come from the process's
# copy (selectors.technician_choices) as one cached string.


def escape(value) -> str:
    """As ``django.utils.html.escape`` (the same text), without its lazy-string wrapper: these
    controls are escaped once, whole, and marked safe at the end."""
    return html_escape(str(value))


def _attrs_html(attrs: dict) -> str:
    parts = []
    for name, value in attrs.items():
        if value is True:
            parts.append(f" {name}")
        elif value is not False and value is not None:
            parts.append(f' {name}="{escape(value)}"')
    return "".join(parts)


def _options_html(choices) -> str:
    return "".join(f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in choices)


def _technician_options_html() -> str:
    return TECHNICIAN_CHOICES.get("options_html", lambda: _options_html(technician_choices()))


# Options of the fixed choice lists (status, priority, yes/no) by field and language: the
# labels are translated once per process, not once per request. The filter form's fields
# are built once per process (filters._SharedFields): each is kept with its options.
_FIXED_OPTIONS: dict = {}


def _fixed_options_html(field) -> str:
    key = (id(field), get_language())
    kept = _FIXED_OPTIONS.get(key)
    if kept is None or kept[0] is not field:
        if len(_FIXED_OPTIONS) > 100:
            _FIXED_OPTIONS.clear()
        kept = _FIXED_OPTIONS[key] = (field, _options_html(list(field.widget.choices)))
    return kept[1]


def _select_html(bf, attrs: dict, values: list[str], multiple: bool) -> str:
    field = bf.field
    if isinstance(field, ModelChoiceField):
        empty = [("", field.empty_label)] if field.empty_label is not None else []
        if bf.name == "technician":
            options = _options_html(empty) + _technician_options_html()
        else:
            options = SERVICE_TYPES.get(
                ("options_html", str(field.empty_label), get_language()),
                lambda: _options_html(empty + [(st.pk, str(st)) for st in service_types_all()]),
            )
    else:
        options = _fixed_options_html(field)
    for value in values if multiple else values[:1]:
        needle = f'<option value="{escape(value)}">'
        options = options.replace(needle, needle[:-1] + " selected>", 1)
    return f'<select name="{escape(bf.html_name)}"{_attrs_html(attrs)}{" multiple" if multiple else ""}>{options}</select>'


def filter_controls(form, *, placeholders: dict | None = None) -> list[dict]:
    """Each field of the filter form: ``{"name", "id", "label", "html", "errors"}``;
    ``placeholders``: a placeholder attribute for some fields, by name (after the widget's own attributes)."""
    placeholders = placeholders or {}
    out = []
    for bf in form:
        widget = bf.field.widget
        attrs = dict(widget.attrs)
        if bf.name in placeholders:
            attrs["placeholder"] = placeholders[bf.name]
        attrs = bf.build_widget_attrs(attrs, widget)
        if bf.auto_id and "id" not in widget.attrs:
            attrs.setdefault("id", bf.auto_id)
        value = bf.value()
        if isinstance(widget, Select):
            multiple = widget.allow_multiple_selected
            attrs.pop("multiple", None)
            if isinstance(widget, NullBooleanSelect):
                values = [widget.format_value(value)]
            else:
                values = widget.format_value(value)
            html = _select_html(bf, attrs, values, multiple)
        else:
            shown = widget.format_value(value)
            html = (
                f'<input type="{widget.input_type}" name="{escape(bf.html_name)}"'
                + ("" if shown is None else f' value="{escape(shown)}"')
                + _attrs_html(attrs) + ">"
            )
        out.append({
            "name": bf.name,
            "id": attrs.get("id", ""),
            "label": bf.label,
            "html": mark_safe(html),  # every value above is escaped
            "errors": bf.errors,
        })
    return out


class WorkOrderApiFilter(WorkOrderFilter):
    """The API list's filters: the queue's, and what an integration syncing changes needs
    (not on the staff queue's page, whose controls are the queue's filters)."""

    updated_after = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte", label=_("Updated from"))
    updated_before = UtcDateTimeFilter(field_name="updated_at", lookup_expr="lt", label=_("Updated before"))
    external_ref = django_filters.CharFilter(field_name="external_ref", label=_("External reference"), max_length=100)

    # The filters whose values change from one request to the next (a sync's last moment, one
    # order's reference): keeping compiled SQL per value would only crowd out the rest.
    UNCOMPILED = frozenset({"updated_after", "updated_before", "external_ref"})

    _form_class = None


WorkOrderApiFilter.base_filters = _ShallowCopies(WorkOrderApiFilter.base_filters)
