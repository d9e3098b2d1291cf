"""Work-order filters, shared by the staff queue page and the API list."""

import copy

import django_filters
from django.forms import ModelChoiceField, NullBooleanSelect, Select
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from technicians.models import Technician

from .lifecycle import Status
from .models import ServiceType, WorkOrder, parse_number
from .selectors import SERVICE_TYPES, TECHNICIAN_CHOICES, service_types_all, technician_choices


class WorkOrderFilter(django_filters.FilterSet):
    # distinct=False: these filter columns of the work order itself (no joins that
    # could repeat rows); a SELECT DISTINCT would defeat the keyset index scan.
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, label=_("Status"), distinct=False)
    priority = django_filters.MultipleChoiceFilter(
        choices=WorkOrder.Priority.choices, label=_("Priority"), distinct=False
    )
    service_type = django_filters.ModelChoiceFilter(queryset=ServiceType.objects.all(), label=_("Service type"))
    technician = django_filters.ModelChoiceFilter(
        queryset=Technician.objects.select_related("user"), label=_("Technician")
    )
    unassigned = django_filters.BooleanFilter(field_name="technician", lookup_expr="isnull", label=_("Unassigned"))
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer id"))
    phone = django_filters.CharFilter(field_name="customer__phone", label=_("Customer phone"))
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label=_("Created from"))
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label=_("Created before"))
    due_after = django_filters.IsoDateTimeFilter(field_name="appointment_end", lookup_expr="gte", label=_("Due from"))
    due_before = django_filters.IsoDateTimeFilter(field_name="appointment_end", lookup_expr="lt", label=_("Due before"))
    number = django_filters.CharFilter(method="filter_number", label=_("Number"))

    class Meta:
        model = WorkOrder
        fields = []

    def filter_number(self, queryset, name, value):
        pk = parse_number(value)
        return queryset.filter(pk=pk) if pk is not None else queryset.none()

    # Built once per process, not once per request: the form class (from the filters'
    # fields) never changes. Its fields are deep-copied into each form as usual.
    _form_class = None

    def get_form_class(self):
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:
            form_class = super().get_form_class()
            form_class.base_fields = _ChoicesCopiedShallowly(form_class.base_fields)
            cls._form_class = form_class
        return cls._form_class


class _ChoicesCopiedShallowly(dict):
    """A form's ``base_fields`` whose deep copy (every form instance makes one) is Django's,
    except that each choice list is copied as a list, not element by element: its entries
    are tuples of values and (lazy) labels that nothing changes in place."""

    def __deepcopy__(self, memo):
        for field in self.values():
            choices = getattr(field, "_choices", None)
            if type(choices) is list:
                memo[id(choices)] = list(choices)
        return {name: copy.deepcopy(field, memo) for name, field in self.items()}


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


# Options of the fixed choice lists (status, priority, yes/no) by field, values and
# language: the labels are translated once per process, not once per request.
_FIXED_OPTIONS: dict = {}


def _fixed_options_html(name: str, choices) -> str:
    choices = list(choices)
    key = (name, tuple(value for value, _label in choices), get_language())
    html = _FIXED_OPTIONS.get(key)
    if html is None:
        if len(_FIXED_OPTIONS) > 100:
            _FIXED_OPTIONS.clear()
        html = _FIXED_OPTIONS[key] = _options_html(choices)
    return html


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
        options = _fixed_options_html(bf.name, bf.field.widget.choices)
    for value in values if multiple else values[:1]:
        needle = f'<option value="{escape(value)}">'
        options = options.replace(needle, needle[:-1] + " selected>", 1)
    return f'<select name="{escape(bf.html_name)}"{_attrs_html(attrs)}{" multiple" if multiple else ""}>{options}</select>'


def filter_controls(form) -> list[dict]:
    """Each field of the filter form: ``{"name", "id", "label", "html", "errors"}``."""
    out = []
    for bf in form:
        widget = bf.field.widget
        attrs = bf.build_widget_attrs(dict(widget.attrs), widget)
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
