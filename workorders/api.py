"""REST API for work orders, under /api/v1/work-orders/.

Thin, like the pages: parse and validate the request, call a selector or a
service, render. Business rules live in ``services.py``; visibility in
``selectors.py``; the transition table in ``lifecycle.py``.

The output serializers declare their fields (that is what the OpenAPI schema
shows) but build each row by hand in ``to_representation``: a list page of 200
rows then costs a few dictionary writes per row instead of a field object per
value. ``tests/workorders/test_api_schema.py`` checks that the two agree.
"""

import hashlib
import json
import re
import uuid
from datetime import UTC

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog.models import ServiceType
from catalog.selectors import service_type_by_code, service_type_refs
from core import roles as R
from core.api import (
    EMPTY,
    TEXT_PATTERN,
    ErrorSerializer,
    KeysetPagination,
    PhoneField,
    TextField,
    etag_header,
    if_match_header,
    precondition_errors,
)
from core.api import if_match as if_match_tags
from core.errors import InvalidInput, NotFound
from core.filters import DATETIME_PATTERN
from core.pagination import TIME_SORTS
from core.permissions import may, require
from core.rows import VERSION_HELP, Body
from core.renderers import PlainBody
from core.validation import normalize_phone
from customers.models import Customer
from customers.selectors import customer_find_by_phone
from sla.models import SlaTarget

from . import search
from .filters import WorkOrderApiFilter, filters_key
from .lifecycle import TRANSITIONS, Status, available_actions
from .models import Attachment, WorkOrder
from .selectors import (
    LIST_RELATED,
    WorkOrderDetail,
    technician_refs,
    workorder_detail,
    workorder_etag,
    workorder_list,
    workorder_scope_key,
    workorder_visible_to,
)
from .services import DESCRIPTION_MAX, EXTERNAL_REF_MAX, workorder_create, workorder_transition, workorder_update
from .sla import SLA_STATE_FIELDS, target_states, target_states_json, target_states_json_rows, target_states_rows
from .sla import STATE_LABELS as SLA_STATE_LABELS

# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def _iso(local) -> str:
    """A local datetime as RFC 3339 text (what the schema's ``date-time`` means). RFC 3339 has no
    seconds in an offset, which zones had before they took standard time (Shanghai's local mean
    time was +08:05:43 until 1901): such a moment is written in UTC. The offsets of the zones
    since 1970 are whole minutes, so a later moment needs no look at its offset."""
    if local.year >= 1970 or not local.utcoffset().seconds % 60:
        return local.isoformat()
    return local.astimezone(UTC).isoformat()


def _dt(value):
    return None if value is None else _iso(timezone.localtime(value))


def _float(value):
    return None if value is None else float(value)


STATUS_LABELS = dict(Status.choices)
PRIORITY_LABELS = dict(WorkOrder.Priority.choices)


class ActionsByStatus(dict):
    """The transitions a user may offer, per status and service type (its flow): computed once per
    pair per request. Key: ``(status, service_type_id)``."""

    def __init__(self, user):
        super().__init__()
        superuser = bool(user and user.is_authenticated and user.is_superuser)
        self.roles = frozenset(R.STAFF_ROLES) if superuser else R.roles_of(user)
        # Whether the caller reads the customer's tier (customers.selectors: office roles and
        # unrestricted or the customer's own API clients; not field roles), asked once per request.
        self.customer_internals = may(user, "customers.read_internals")

    def __missing__(self, key):
        status, service_type_id = key
        value = [
            {
                "action": t.action,
                "label": str(t.label),
                "reason_required": t.reason_required,
                "needs_technician": t.needs_technician,
            }
            for t in available_actions(status, self.roles, service_type_id)
        ]
        self[key] = value
        return value


def _actions_of(context) -> ActionsByStatus:
    actions = context.get("actions")
    if actions is None:
        request = context.get("request")
        actions = context["actions"] = ActionsByStatus(getattr(request, "user", None))
    return actions


class AvailableActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted(TRANSITIONS))
    label = serializers.CharField()
    reason_required = serializers.BooleanField(help_text="The `note` must give a reason.")
    needs_technician = serializers.BooleanField(help_text="The `technician` must be given.")


class CustomerRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField()
    tier = serializers.CharField(required=False, help_text="Service tier (it chooses the SLA). Internal: left out "
                                 "for technicians, partner technicians and clients restricted to a partner company, "
                                 "as in the customers API.")


def _customer_ref(pk, name, phone, tier, internals: bool) -> dict:
    ref = {"id": pk, "name": name, "phone": phone}
    if internals:
        ref["tier"] = tier
    return ref


class ServiceTypeRefSerializer(serializers.Serializer):
    code = serializers.SlugField()
    name = serializers.CharField()


class TechnicianRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    username = serializers.CharField()
    partner_company = serializers.IntegerField(allow_null=True)


class SlaTargetSerializer(serializers.Serializer):
    target = serializers.ChoiceField(choices=SlaTarget.choices)
    label = serializers.CharField()
    state = serializers.ChoiceField(choices=sorted(SLA_STATE_LABELS))
    state_label = serializers.CharField()
    due = serializers.DateTimeField(allow_null=True, help_text="The deadline; null while the clock is paused.")
    met_at = serializers.DateTimeField(allow_null=True)
    seconds = serializers.IntegerField(
        help_text="Time left (positive) or over (negative); for a met target, how early (positive) or late "
        "(negative); while paused, the business seconds left."
    )


# The columns WorkOrderSerializer reads: the list loads only these (a work-order
# row is wide, and a page of 200 rows with four joined tables adds up). Reading
# another column in to_representation without adding it here would cost a query
# per row; the query-count test in tests/workorders/test_api.py would fail.
LIST_FIELDS = (
    "id", "status", "priority", "channel", "external_ref", "site", "equipment",
    "coverage", "contract", "coverage_percent", "coverage_until",
    "contact_name", "contact_phone", "contact_email",
    "address", "description", "language", "custom", "preferred_start", "preferred_end", "appointment_start",
    "appointment_end", "created_at", "updated_at", "assigned_at", "accepted_at", "arrived_at", "resolved_at", "closed_at",
    "customer__id", "customer__name", "customer__phone", "customer__tier",
    "service_type__id", "service_type__code", "service_type__name", "service_type__name_zh_hans",
    "service_type__name_en",
    "technician__id", "technician__partner_company", "technician__user__id", "technician__user__username",
    "technician__user__first_name", "technician__user__last_name",
    *(f for f in SLA_STATE_FIELDS if f != "status"),
)


class CoverageSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["", "contract", "warranty"],
                                   help_text="What covered the order when it was created: a service contract, "
                                   "the equipment's warranty, or nothing (empty).")
    contract = serializers.IntegerField(allow_null=True, help_text="The covering contract's id.")
    percent = serializers.IntegerField(help_text="Share of the price covered: 100 = free, 0 = not covered.")
    until = serializers.DateField(allow_null=True, help_text="The contract's last day or the warranty's end.")


CUSTOM_HELP = (
    "The service type's custom intake fields, by key (admin: the service type's custom fields): text and "
    "choice codes as strings, numbers as numbers, dates as YYYY-MM-DD, yes/no as true/false."
)


class WorkOrderSerializer(serializers.Serializer):
    """A work order as the list, the create answer and the transition answer show it."""

    id = serializers.IntegerField()
    number = serializers.CharField(help_text="Human-facing number, e.g. WO-2026-000123.")
    status = serializers.ChoiceField(choices=Status.choices)
    status_label = serializers.CharField()
    priority = serializers.ChoiceField(choices=WorkOrder.Priority.choices)
    priority_label = serializers.CharField()
    channel = serializers.ChoiceField(choices=WorkOrder.Channel.choices)
    external_ref = serializers.CharField(allow_null=True, help_text="The order's reference in the client's "
                                         "system, or null; unique among work orders.")
    customer = CustomerRefSerializer()
    site = serializers.IntegerField(allow_null=True, help_text="Site id.")
    equipment = serializers.IntegerField(allow_null=True, help_text="Equipment id.")
    coverage = CoverageSerializer(help_text="Decided when the order was created; later contract edits change nothing.")
    service_type = ServiceTypeRefSerializer()
    technician = TechnicianRefSerializer(allow_null=True)
    contact_name = serializers.CharField()
    contact_phone = serializers.CharField()
    contact_email = serializers.EmailField(allow_blank=True)
    address = serializers.CharField()
    description = serializers.CharField()
    language = serializers.CharField()
    custom = serializers.DictField(help_text=CUSTOM_HELP)
    preferred_start = serializers.DateTimeField(allow_null=True)
    preferred_end = serializers.DateTimeField(allow_null=True)
    appointment_start = serializers.DateTimeField(allow_null=True)
    appointment_end = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    assigned_at = serializers.DateTimeField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    arrived_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    available_actions = AvailableActionSerializer(
        many=True, help_text="Transitions the caller's roles may fire from the current status."
    )
    sla = SlaTargetSerializer(many=True, help_text="Each SLA target's state; empty when the order has no SLA.")

    def to_representation(self, wo):
        customer = wo.customer
        service_type = wo.service_type
        tech = wo.technician if wo.technician_id else None
        return {
            "id": wo.pk,
            "number": wo.number,
            "status": wo.status,
            "status_label": str(STATUS_LABELS.get(wo.status, wo.status)),
            "priority": wo.priority,
            "priority_label": str(PRIORITY_LABELS.get(wo.priority, wo.priority)),
            "channel": wo.channel,
            "external_ref": wo.external_ref,
            "customer": _customer_ref(customer.pk, customer.name, customer.phone, customer.tier,
                                      _actions_of(self.context).customer_internals),
            "site": wo.site_id,
            "equipment": wo.equipment_id,
            "coverage": {"kind": wo.coverage, "contract": wo.contract_id, "percent": wo.coverage_percent,
                         "until": None if wo.coverage_until is None else wo.coverage_until.isoformat()},
            "service_type": {"code": service_type.code, "name": service_type.name},
            "technician": None
            if tech is None
            else {
                "id": tech.pk,
                "name": str(tech),
                "username": tech.user.username,
                "partner_company": tech.partner_company_id,
            },
            "contact_name": wo.contact_name,
            "contact_phone": wo.contact_phone,
            "contact_email": wo.contact_email,
            "address": wo.address,
            "description": wo.description,
            "language": wo.language,
            "custom": wo.custom,
            "preferred_start": _dt(wo.preferred_start),
            "preferred_end": _dt(wo.preferred_end),
            "appointment_start": _dt(wo.appointment_start),
            "appointment_end": _dt(wo.appointment_end),
            "created_at": _dt(wo.created_at),
            "updated_at": _dt(wo.updated_at),
            "assigned_at": _dt(wo.assigned_at),
            "accepted_at": _dt(wo.accepted_at),
            "arrived_at": _dt(wo.arrived_at),
            "resolved_at": _dt(wo.resolved_at),
            "closed_at": _dt(wo.closed_at),
            "available_actions": _actions_of(self.context)[wo.status, wo.service_type_id],
            "sla": target_states_json(target_states(wo), _dt),
        }


# The list reads plain values: the work order's columns and its customer's (one join).
# The service type and the technician come from the process's copies (selectors), so
# PostgreSQL plans a two-table query instead of a five-table one on every request.
LIST_VALUES = (
    "id", "status", "priority", "channel", "external_ref", "site", "equipment",
    "coverage", "contract_id", "coverage_percent", "coverage_until",
    "contact_name", "contact_phone", "contact_email",
    "address", "description", "language", "custom", "preferred_start", "preferred_end", "appointment_start",
    "appointment_end", "created_at", "updated_at", "assigned_at", "accepted_at", "arrived_at", "resolved_at", "closed_at",
    "customer__id", "customer__name", "customer__phone", "customer__tier", "service_type_id", "technician_id",
    *(f for f in SLA_STATE_FIELDS if f != "status"),
)


_LABELS: dict = {}


def _choice_labels() -> tuple[dict, dict]:
    """The status and priority labels in the current language, translated once per process."""
    key = get_language()
    labels = _LABELS.get(key)
    if labels is None:
        labels = _LABELS[key] = (
            {value: str(label) for value, label in STATUS_LABELS.items()},
            {value: str(label) for value, label in PRIORITY_LABELS.items()},
        )
    return labels


def _local_time_formatter(*, as_text: bool):
    """A page's datetime formatter: None stays None, a datetime moves to the current time zone.

    ``as_text``: as its RFC 3339 text (``_iso``). Otherwise the local datetime itself, for a
    ``core.renderers.PlainBody`` (orjson writes the same text several times faster),
    except where the zone's offset then had seconds (local mean time before 1901 and the
    like): orjson rounds those to the minute, so they go as ``_iso`` text."""
    tz = timezone.get_current_timezone()
    if as_text:
        def dt(value):
            if value is None:
                return None
            local = value.astimezone(tz)
            return local.isoformat() if local.year >= 1970 else _iso(local)
    else:
        def dt(value):
            if value is None:
                return None
            local = value.astimezone(tz)
            return _iso(local) if local.utcoffset().seconds % 60 else local
    return dt


def _rows_from_values(rows, actions: "ActionsByStatus", *, times_as_text: bool = True) -> list[dict]:
    """``WorkOrderSerializer``'s answer for rows read with ``.values(*LIST_VALUES)``: the same
    keys in the same order, the same values.

    The labels are translated, the time zone looked up and each service type's and
    technician's part built once for the page, not per row. ``times_as_text=False``: the
    datetimes for a ``core.renderers.PlainBody`` (``_local_time_formatter``).
    """
    status_labels, priority_labels = _choice_labels()
    type_parts = service_type_refs({r["service_type_id"] for r in rows})  # shared: never changed here
    technicians = technician_refs({r["technician_id"] for r in rows})
    technician_parts: dict = {}
    dt = _local_time_formatter(as_text=times_as_text)

    sla = target_states_json_rows(target_states_rows(rows), dt)
    internals = actions.customer_internals  # the customer's tier: not for field roles
    # Below, a time that is None (most of a new order's) is not passed to dt: half the calls.
    out = []
    append = out.append
    for r, sla_part in zip(rows, sla, strict=True):
        tech_id = r["technician_id"]
        if tech_id is None:
            technician = None
        else:
            technician = technician_parts.get(tech_id)
            if technician is None:
                ref = technicians[tech_id]
                technician = technician_parts[tech_id] = {
                    "id": tech_id, "name": ref.name, "username": ref.username,
                    "partner_company": ref.partner_company_id,
                }
        created = dt(r["created_at"])
        year = created.year if type(created) is not str else created[:4]  # ISO 8601: the year comes first
        status, priority, pk = r["status"], r["priority"], r["id"]
        append({
            "id": pk,
            "number": f"WO-{year:0>4}-{pk:06d}",
            "status": status,
            "status_label": status_labels.get(status, status),
            "priority": priority,
            "priority_label": priority_labels.get(priority, str(priority)),
            "channel": r["channel"],
            "external_ref": r["external_ref"],
            "customer": {
                "id": r["customer__id"], "name": r["customer__name"], "phone": r["customer__phone"],
                "tier": r["customer__tier"],
            } if internals else {"id": r["customer__id"], "name": r["customer__name"], "phone": r["customer__phone"]},
            "site": r["site"],
            "equipment": r["equipment"],
            "coverage": {"kind": r["coverage"], "contract": r["contract_id"], "percent": r["coverage_percent"],
                         "until": None if (v := r["coverage_until"]) is None else v.isoformat()},
            "service_type": type_parts[r["service_type_id"]],
            "technician": technician,
            "contact_name": r["contact_name"],
            "contact_phone": r["contact_phone"],
            "contact_email": r["contact_email"],
            "address": r["address"],
            "description": r["description"],
            "language": r["language"],
            "custom": r["custom"],
            "preferred_start": None if (v := r["preferred_start"]) is None else dt(v),
            "preferred_end": None if (v := r["preferred_end"]) is None else dt(v),
            "appointment_start": None if (v := r["appointment_start"]) is None else dt(v),
            "appointment_end": None if (v := r["appointment_end"]) is None else dt(v),
            "created_at": created,
            "updated_at": None if (v := r["updated_at"]) is None else dt(v),
            "assigned_at": None if (v := r["assigned_at"]) is None else dt(v),
            "accepted_at": None if (v := r["accepted_at"]) is None else dt(v),
            "arrived_at": None if (v := r["arrived_at"]) is None else dt(v),
            "resolved_at": None if (v := r["resolved_at"]) is None else dt(v),
            "closed_at": None if (v := r["closed_at"]) is None else dt(v),
            "available_actions": actions[status, r["service_type_id"]],
            "sla": sla_part,  # the last key, as in to_representation
        })
    return out


def _event(event) -> dict:
    return {
        "id": event.pk,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor": event.actor.username if event.actor_id else None,
        "actor_role": event.actor_role,
        "note": event.note,
        "latitude": _float(event.latitude),
        "longitude": _float(event.longitude),
        "created_at": _dt(event.created_at),
    }


def _event_from_values(event: dict, dt) -> dict:
    """``_event`` for an event read by ``selectors.workorder_history``."""
    lat, lng = event["latitude"], event["longitude"]
    return {
        "id": event["id"],
        "action": event["action"],
        "from_status": event["from_status"],
        "to_status": event["to_status"],
        "actor": event["actor__username"] if event["actor_id"] else None,
        "actor_role": event["actor_role"],
        "note": event["note"],
        "latitude": None if lat is None else float(lat),
        "longitude": None if lng is None else float(lng),
        "created_at": dt(event["created_at"]),
    }


def _attachment(att) -> dict:
    return {
        "id": att.pk,
        "kind": att.kind,
        "content_type": att.content_type,
        "size": att.size,
        "width": att.width,
        "height": att.height,
        "original_name": att.original_name,
        "created_at": _dt(att.created_at),
    }


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField(help_text="create, or a transition from the lifecycle table.")
    from_status = serializers.CharField(allow_blank=True, help_text="Empty for the creation.")
    to_status = serializers.CharField()
    actor = serializers.CharField(allow_null=True, help_text="Username; null for the customer or the system.")
    actor_role = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, event):
        return _event(event)


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Attachment.Kind.choices)
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    original_name = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, attachment):
        return _attachment(attachment)


class WorkOrderDetailSerializer(WorkOrderSerializer):
    """One work order with its audit trail and its attachments' metadata."""

    events = EventSerializer(many=True)
    attachments = AttachmentSerializer(many=True)

    def to_representation(self, wo):
        if isinstance(wo, WorkOrderDetail):  # from selectors.workorder_detail: plain values
            return _detail_from_values(wo, _actions_of(self.context))
        body = super().to_representation(wo)
        body["events"] = [_event(e) for e in wo.events.order_by("id")]
        body["attachments"] = [_attachment(a) for a in wo.attachments.order_by("id")]
        return body


def _detail_from_values(detail: WorkOrderDetail, actions: ActionsByStatus) -> dict:
    """``WorkOrderDetailSerializer``'s answer for a ``selectors.workorder_detail``: the list's
    row (``_rows_from_values``), then the events and the attachments."""
    body = _rows_from_values([detail.row], actions)[0]
    tz = timezone.get_current_timezone()

    def dt(value):
        if value is None:
            return None
        local = value.astimezone(tz)
        return local.isoformat() if local.year >= 1970 else _iso(local)

    body["events"] = [_event_from_values(e, dt) for e in detail.history]
    body["attachments"] = [
        {
            "id": a["id"],
            "kind": a["kind"],
            "content_type": a["content_type"],
            "size": a["size"],
            "width": a["width"],
            "height": a["height"],
            "original_name": a["original_name"],
            "created_at": dt(a["created_at"]),
        }
        for a in detail.attachments
    ]
    return body


# --------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------


class CachedServiceTypeField(serializers.SlugRelatedField):
    """A service type by its code, looked up in the process's copy (no query)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            self.fail("invalid")
        found = service_type_by_code(str(data))
        if found is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        return found


class WorkOrderCreateSerializer(serializers.Serializer):
    contact_name = TextField(max_length=120)
    contact_phone = PhoneField(max_length=40, help_text="Mobile number (a valid number of `PHONE_REGION`, "
                               "e.g. 138 1234 5678 or +8613812345678); stored in E.164 form.")
    contact_email = serializers.EmailField(required=False, allow_blank=True, default="")
    address = TextField(
        max_length=255, required=False, allow_blank=True, default="",
        help_text="Required (not blank) unless `site` is given.",
    )
    service_type = CachedServiceTypeField(
        slug_field="code", queryset=ServiceType.objects.all(), help_text="Code of an active service type."
    )
    description = TextField(max_length=DESCRIPTION_MAX)
    priority = serializers.ChoiceField(choices=WorkOrder.Priority.choices, default=WorkOrder.Priority.NORMAL)
    preferred_start = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Give both ends of the window or neither."
    )
    preferred_end = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="After `preferred_start`; give both ends of the window or neither.",
    )
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES], required=False, allow_blank=True, default=""
    )
    site = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        help_text="Id of a site of the customer with this phone number.",
    )
    equipment = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        help_text="Id of equipment of the customer with this phone number.",
    )
    external_ref = TextField(
        max_length=EXTERNAL_REF_MAX, required=False, allow_null=True, allow_blank=True, default=None,
        help_text="The order's reference in your system (blank: none); one another work order has is refused (400).",
    )
    custom = serializers.DictField(
        required=False, default=dict,
        help_text=CUSTOM_HELP + " Every required field of the service type is given; a value that does not match "
        "its field, an unknown option or key is refused (400, the field named in `fields` as `custom.<key>`).",
    )

    def get_fields(self):
        # DRF deep-copies every declared field's arguments for each new serializer (the
        # service type's queryset among them); none of these arguments is ever changed,
        # so each field is built afresh from them as they are. (Not shared between
        # serializers: a validator's message is formatted once, in the first request's
        # language; tests/workorders/test_create_writes.py.)
        return {name: field.__class__(*field._args, **field._kwargs) for name, field in self._declared_fields.items()}

    def validate_contact_phone(self, value):
        try:
            return normalize_phone(value, field="contact_phone")
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.message) from None


class TransitionSerializer(serializers.Serializer):
    """What a transition request may carry; which fields each action needs is stated per action
    in the schema (``TRANSITION_REQUEST``) and checked by ``services.workorder_transition``."""

    action = serializers.ChoiceField(choices=[(name, t.label) for name, t in TRANSITIONS.items()])
    note = TextField(
        required=False, allow_blank=True, default="", max_length=2000,
        help_text="Required (a reason) for reject, hold, reopen and cancel.",
    )
    latitude = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-180, max_value=180)
    technician = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        help_text="Technician id; for assign and reassign.",
    )
    appointment_start = serializers.DateTimeField(required=False, allow_null=True, default=None)
    appointment_end = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        lat, lng = attrs.get("latitude"), attrs.get("longitude")
        if (lat is None) != (lng is None):
            missing = "longitude" if lng is None else "latitude"
            raise serializers.ValidationError({missing: [_("Give both the latitude and the longitude.")]})
        return attrs


class WorkOrderPatchSerializer(Body):
    """The details of an order an agent, dispatcher or manager may change (PATCH): each field
    optional; any other field, one shown on the order (status, technician, customer, ...) too,
    is refused (400) and nothing is written. Checked further by ``services.workorder_update``."""

    read_only_fields = {
        name: gettext_lazy("Read-only here: the status, technician and appointment change through transitions; "
                           "the other fields are set when the order is created.")
        for name in (
            "id", "number", "status", "status_label", "priority_label", "channel", "customer", "service_type",
            "technician", "contact_name", "contact_phone", "contact_email", "address", "language",
            "appointment_start", "appointment_end", "created_at", "updated_at", "assigned_at", "accepted_at",
            "arrived_at", "resolved_at", "closed_at", "available_actions", "sla", "events", "attachments",
        )
    }

    priority = serializers.ChoiceField(choices=WorkOrder.Priority.choices, required=False)
    preferred_start = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="The window the customer asked for: both ends set or both null, the end after the start "
        "(with the end the order has, if only this one is sent).",
    )
    preferred_end = serializers.DateTimeField(required=False, allow_null=True, help_text="See `preferred_start`.")
    description = TextField(max_length=DESCRIPTION_MAX, required=False)
    site = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                    help_text="Id of a site of the order's customer; the order's address "
                                    "becomes the site's.")
    equipment = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                         help_text="Id of equipment of the order's customer.")
    external_ref = TextField(
        max_length=EXTERNAL_REF_MAX, required=False, allow_null=True, allow_blank=True,
        help_text="The order's reference in your system (blank or null: none); one another work order has "
        "is refused (400).",
    )
    custom = serializers.DictField(
        required=False,
        help_text="Custom intake fields to change, by key; the keys not sent keep their values, null or \"\" "
        "clears an optional one. Checked as on create.",
    )
    version = TextField(max_length=40, required=False, help_text=VERSION_HELP)


def _transition_request(transition) -> serializers.Serializer:
    """The schema of one action's request, read from the lifecycle table: a reason is
    required where the table says so, a technician for assign and reassign."""
    position = "Where the caller is; give both `latitude` and `longitude` or neither."
    fields = {
        "action": serializers.ChoiceField(choices=[transition.action]),
        "note": TextField(max_length=2000, help_text="The reason.") if transition.reason_required
        else TextField(required=False, allow_blank=True, max_length=2000),
        "latitude": serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90,
                                           help_text=position),
        "longitude": serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180,
                                            help_text=position),
    }
    if transition.needs_technician:
        window = "The appointment; give both ends or neither, the end after the start."
        fields["technician"] = serializers.IntegerField(min_value=1, help_text="Id of an active technician.")
        fields["appointment_start"] = serializers.DateTimeField(required=False, allow_null=True, help_text=window)
        fields["appointment_end"] = serializers.DateTimeField(required=False, allow_null=True, help_text=window)
    name = "".join(part.title() for part in transition.action.split("_"))
    return inline_serializer(f"Transition{name}", fields)


TRANSITION_REQUEST = PolymorphicProxySerializer(
    component_name="Transition",
    serializers={name: _transition_request(t) for name, t in TRANSITIONS.items()},
    resource_type_field_name="action",
)


# --------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input; `fields` names each field with its messages."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
    403: OpenApiResponse(ErrorSerializer, description="The caller's role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such work order, or not one the caller may see."),
    409: OpenApiResponse(ErrorSerializer, description="Not allowed from the work order's current status."),
    413: OpenApiResponse(ErrorSerializer, description="The body is larger than the server takes "
                         "(`DATA_UPLOAD_MAX_MEMORY_SIZE`)."),
    415: OpenApiResponse(ErrorSerializer, description="The body is not JSON (`Content-Type: application/json`)."),
    422: OpenApiResponse(ErrorSerializer, description="The `Idempotency-Key` was already used with a different "
                         "body (`idempotency_key_reused`)."),
}


PATCH_IF_MATCH_HEADER = if_match_header("order", required=False, alternative=" Without it, the body's `version` "
                                        "names the version; without either the answer is 428.")
ERRORS.update(precondition_errors("work order"))


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.UUID,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A UUID chosen by the client. Sending the same key again with the same body returns the work "
    "order the first request created (200) instead of creating another; with a different body it is refused "
    "(422).",
)


def _or_empty(schema: dict) -> dict:
    """A list parameter's schema: the value, or empty (ignored, as if not given)."""
    return {"oneOf": [schema, EMPTY]}


def _param(name: str, schema: dict, description: str, **kw) -> OpenApiParameter:
    return OpenApiParameter(name=name, location=OpenApiParameter.QUERY, required=False, type=_or_empty(schema),
                            description=description, **kw)


def _datetime_param(name: str, description: str) -> OpenApiParameter:
    return _param(
        name, {"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN},
        f"{description} ISO 8601, with an offset of at most 14:00 either way (none: the site's time zone); "
        "another offset is refused (400).",
    )


def _choices_param(name: str, choices, kind: str, description: str) -> OpenApiParameter:
    items = {"type": kind, "enum": [value for value, _label in choices]}
    return OpenApiParameter(name=name, location=OpenApiParameter.QUERY, required=False,
                            type={"type": "array", "items": {"oneOf": [items, EMPTY]}},
                            description=description, explode=True, style="form")


# The list's filters (workorders/filters.py), described here rather than by their labels
# (which are the staff queue's). Every one may be given empty, and is then ignored.
LIST_PARAMETERS = [
    _choices_param("status", Status.choices, "string", "Any of these statuses (repeat the parameter)."),
    _choices_param("priority", WorkOrder.Priority.choices, "integer", "Any of these priorities (1 low .. 4 urgent)."),
    _datetime_param("created_after", "Created at or after this moment."),
    _datetime_param("created_before", "Created before this moment."),
    _datetime_param("due_after", "Appointment ending at or after this moment."),
    _datetime_param("due_before", "Appointment ending before this moment."),
    _datetime_param("updated_after", "Changed at or after this moment (`updated_at`): with `sort=updated_at`, "
                    "what changed since an integration's last sync."),
    _datetime_param("updated_before", "Changed before this moment."),
    _param("external_ref", {"type": "string", "pattern": TEXT_PATTERN, "maxLength": EXTERNAL_REF_MAX},
           "The order with this reference in the client's system (none: an empty page)."),
    _param("customer", {"type": "integer"}, "Customer id."),
    _param("service_type", {"type": "integer"}, "Id of an existing service type (another id is refused, 400)."),
    _param("technician", {"type": "integer"}, "Id of an existing technician (another id is refused, 400)."),
    _param("unassigned", {"type": "boolean"}, "true: only orders without a technician; false: only those with one."),
    _param("phone", {"type": "string", "pattern": TEXT_PATTERN}, "The customer's phone number, in E.164 form."),
    _param("number", {"type": "string", "pattern": TEXT_PATTERN},
           "A work order's number, e.g. WO-2026-000123 (no match: an empty page)."),
]


ID_PATH = OpenApiParameter(
    name="id", type=OpenApiTypes.INT, location=OpenApiParameter.PATH, description="Work order id."
)


_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _idempotency_key(request) -> uuid.UUID | None:
    """The request's ``Idempotency-Key``: none, or a UUID in its usual form (an empty or other
    value is refused, as the schema says)."""
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not _UUID_TEXT.fullmatch(raw.strip()):
        message = _("The Idempotency-Key header must be a UUID.")
        raise InvalidInput(message, fields={"Idempotency-Key": [message]})
    return uuid.UUID(raw.strip())


def _plain_page(request, filterset) -> bool:
    """The list's page from a plain queryset, not from compiled SQL: sorted by a moment, or
    filtered by a value that changes with each request (``WorkOrderApiFilter.UNCOMPILED``)."""
    if request.query_params.get(KeysetPagination.sort_query_param) in TIME_SORTS:
        return True
    if filterset is None:  # only the status and priority filters (_CHOICE_FILTERS)
        return False
    data = filterset.form.cleaned_data
    return any(data.get(name) not in (None, "") for name in WorkOrderApiFilter.UNCOMPILED)


def _body_hash(data) -> str:
    """What a request's body says, as a hash: the same for the same JSON however it is spaced
    or its keys ordered (kept with the Idempotency-Key, ``services.workorder_create``)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _office_role(user) -> str:
    names = R.roles_of(user)
    for role in (R.AGENT, R.DISPATCHER, R.MANAGER):
        if role in names:
            return role
    if R.INTEGRATION in names:
        return R.INTEGRATION
    return "admin"  # a superuser without a role group, as in services._acting_role


def _customer_items(*, phone: str, site_id, equipment_id):
    """The customer with ``phone`` and their site and equipment by id; each must be theirs."""
    customer = customer_find_by_phone(phone=phone)
    errors = {}
    site = equipment = None
    if site_id is not None:
        site = next((s for s in customer.sites.all() if s.pk == site_id), None) if customer else None
        if site is None:
            errors["site"] = [_("Not a site of the customer with this phone number.")]
    if equipment_id is not None:
        equipment = next((e for e in customer.equipment.all() if e.pk == equipment_id), None) if customer else None
        if equipment is None:
            errors["equipment"] = [_("Not equipment of the customer with this phone number.")]
    if errors:
        raise InvalidInput(_("The site or equipment belongs to another customer."), fields=errors)
    return customer, site, equipment


# The list's filters with choices fixed in the code (valid or not whatever the database
# holds, for every user): a query of only these, once found valid, skips the filter form
# and reuses its key (filters.filters_key). Not the others: a technician or a service
# type is valid while it exists.
_CHOICE_FILTER_NAMES = frozenset({"status", "priority"})
_PAGE_PARAMS = frozenset({KeysetPagination.cursor_query_param, KeysetPagination.sort_query_param,
                          KeysetPagination.page_size_query_param})
_CHOICE_FILTERS: dict = {}  # the query's choice filters -> filters_key of the valid form


def _choice_filters(request) -> tuple | None:
    """The request's filters as a key for ``_CHOICE_FILTERS``; None if it has others."""
    params = request.query_params
    key = []
    for name in params:
        if name in _PAGE_PARAMS:
            continue
        if name not in _CHOICE_FILTER_NAMES:
            return None
        key.append((name, tuple(params.getlist(name))))
    key.sort()
    return tuple(key)


@extend_schema(tags=["work orders"])
class WorkOrderViewSet(viewsets.GenericViewSet):
    """Work orders: list, read, create, and move through the lifecycle."""

    queryset = WorkOrder.objects.none()  # for introspection; get_queryset scopes by user
    serializer_class = WorkOrderSerializer
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = WorkOrderApiFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return workorder_list(user=self.request.user).only(*LIST_FIELDS)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["actions"] = ActionsByStatus(self.request.user)
        return context

    def _render(self, work_order, *, status=200, headers=None):
        body = WorkOrderSerializer(work_order, context=self.get_serializer_context()).data
        return Response(body, status=status, headers=headers)

    @extend_schema(
        summary="List work orders",
        description="Work orders the caller may see (technicians: their own; partner technicians: their "
        "company's; office roles: all), filtered, in keyset pages: follow `next` to walk on. No total count. "
        "A parameter given empty (`?status=`) is ignored, as if it were not given.",
        parameters=LIST_PARAMETERS,
        responses={200: WorkOrderSerializer(many=True), **_errors(400, 401)},
    )
    def list(self, request):
        # The filters as DjangoFilterBackend applies them (a 400 names each bad one; a
        # query of status and priority only, once valid, by its key: _CHOICE_FILTERS), then
        # the page from SQL kept per visibility scope and filters: the queryset is built
        # only the first time. Plain values, not model instances: a page of 200 rows
        # would build 800 of them. The body is written by orjson (core.renderers.PlainBody).
        user = request.user
        choices = _choice_filters(request)
        filters = _CHOICE_FILTERS.get(choices) if choices is not None else None
        filterset = None
        if filters is None:
            filterset = self._valid_filterset(request)
            filters = filters_key(filterset.form)
            if choices is not None and filters is not None:
                if len(_CHOICE_FILTERS) >= 1000:
                    _CHOICE_FILTERS.clear()
                _CHOICE_FILTERS[choices] = filters

        def build():
            return (filterset if filterset is not None else self._valid_filterset(request)).qs.values(*LIST_VALUES)

        if filters is None or _plain_page(request, filterset):
            rows = self.paginate_queryset(build())
        else:
            rows = self.paginator.paginate_compiled(("api-list", workorder_scope_key(user), filters), build, request)
        actions = _actions_of(self.get_serializer_context())
        body = _rows_from_values(rows, actions, times_as_text=False)
        return self.paginator.get_paginated_response(body, PlainBody)

    def _valid_filterset(self, request):
        """The list's filters as DjangoFilterBackend applies them; a 400 names each bad one."""
        filterset = DjangoFilterBackend().get_filterset(request, workorder_visible_to(request.user), self)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        return filterset

    @extend_schema(
        summary="Read one work order",
        description="With its events (the audit trail) and its attachments' metadata; the `ETag` header is "
        "its version, for a change (`PATCH`, `If-Match`).",
        parameters=[ID_PATH, etag_header("work order", 200)],
        responses={200: WorkOrderDetailSerializer, **_errors(401, 404)},
    )
    def retrieve(self, request, pk=None):
        detail = workorder_detail(user=request.user, pk=int(pk))
        if detail is None:
            raise NotFound(_("No such work order."))
        return Response(_detail_from_values(detail, _actions_of(self.get_serializer_context())),
                        headers={"ETag": workorder_etag(detail.row["updated_at"])})

    @extend_schema(
        summary="Change a work order's details",
        description="For agents, dispatchers and managers, while the order is open (new to on hold): its "
        "priority, the customer's preferred window, the description, the site and equipment (the customer's), "
        "and its reference in your system. Send only the fields to change, with `If-Match` set to the `ETag` "
        "of the version you read (`GET` answers it), or the body's `version` set to the ETag without its "
        "quotes: if someone changed the order since, nothing is written and the answer is 412 with the current "
        "version; with neither, 428. Any other field is refused (400), nothing written. "
        "A change writes an `update` event naming each field's old and new value. The status, technician and "
        "appointment change through `transitions`. The SLA deadlines stay those agreed when the order came in.",
        request=WorkOrderPatchSerializer,
        parameters=[ID_PATH, PATCH_IF_MATCH_HEADER, etag_header("work order", 200, 412)],
        responses={
            200: OpenApiResponse(WorkOrderDetailSerializer, description="The order as it is now."),
            **_errors(400, 401, 403, 404),
            409: OpenApiResponse(ErrorSerializer, description="The order is resolved, closed or cancelled: its "
                                 "details can no longer change."),
            **_errors(413, 415),
            **precondition_errors("work order", alternative=" (or `version` in the body)"),
        },
        examples=[
            OpenApiExample("New priority and window", request_only=True, value={
                "priority": 4, "preferred_start": "2026-05-02T09:00:00+08:00",
                "preferred_end": "2026-05-02T12:00:00+08:00",
            }),
            OpenApiExample("Your reference", request_only=True, value={"external_ref": "CRM-2026-00042"}),
            OpenApiExample("The version in the body", request_only=True,
                           value={"priority": 3, "version": "62c1d5f0a2b41"}),
            OpenApiExample("Stale version", response_only=True, status_codes=["412"], value={
                "error": "stale", "version": "62c1d5f0a2b41",
                "detail": "WO-2026-000123 was changed since you read it; read it again and re-apply your change.",
            }),
        ],
    )
    def partial_update(self, request, pk=None):
        if not 0 < int(pk) < 2**63:  # beyond any id: the database would refuse the number
            raise NotFound(_("No such work order."))
        if not (isinstance(request.data, dict) and request.data.get("version")):
            if_match_tags(request)  # neither If-Match nor a version: 428 before the body is read
        serializer = WorkOrderPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if_match = if_match_tags(request, changes.pop("version", None))
        work_order = workorder_update(work_order_id=int(pk), actor=request.user, changes=changes, if_match=if_match)
        detail = workorder_detail(user=request.user, pk=work_order.pk)
        return Response(_detail_from_values(detail, _actions_of(self.get_serializer_context())),
                        headers={"ETag": workorder_etag(detail.row["updated_at"])})

    @extend_schema(
        summary="Search",
        description="One text finds work orders by number (`WO-2026-000123` or `123`), and customers by name, "
        "phone number (any common form, e.g. `138 0000 1234`; three or more digits find numbers holding them), "
        "address fragment or equipment serial (three characters or more), with their work orders: newest "
        f"first, at most {search.RESULTS}. Customers are listed for agents, dispatchers and managers only; "
        "technicians find their own work orders. An empty `q` finds nothing.",
        parameters=[
            OpenApiParameter(name="q", location=OpenApiParameter.QUERY, required=False,
                             type={"type": "string", "maxLength": search.MAX_QUERY, "pattern": TEXT_PATTERN},
                             description="What to look for."),
        ],
        responses={
            200: inline_serializer("SearchResult", {
                "query": serializers.CharField(help_text="The text searched for, spaces collapsed."),
                "results": WorkOrderSerializer(many=True),
                "more": serializers.BooleanField(help_text=f"More than {search.RESULTS} work orders matched."),
                "customers": inline_serializer("CustomerMatch", {
                    "id": serializers.IntegerField(),
                    "name": serializers.CharField(),
                    "phone": serializers.CharField(),
                    "tier": serializers.ChoiceField(choices=Customer.Tier.choices),
                }, many=True),
                "more_customers": serializers.BooleanField(),
            }),
            **_errors(400, 401),
        },
    )
    @action(detail=False, methods=["get"], url_path="search", filter_backends=[], pagination_class=None)
    def search(self, request):
        user = request.user
        found = search.staff_search(user=user, query=request.query_params.get("q", ""), values=LIST_VALUES)
        customers = found.customers if may(user, "core.office_pages") else []
        return Response({
            "query": found.query,
            "results": _rows_from_values(found.orders, _actions_of(self.get_serializer_context())),
            "more": found.more_orders,
            "customers": customers,
            "more_customers": found.more_customers and bool(customers),
        })

    @extend_schema(
        summary="Create a work order",
        description="For agents, dispatchers and managers. The customer is found by the phone number or "
        "created. With an `Idempotency-Key`, a replay answers 200 with the first work order.",
        request=WorkOrderCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: OpenApiResponse(WorkOrderSerializer, description="Created."),
            200: OpenApiResponse(WorkOrderSerializer, description="A replay: the work order this key created."),
            **_errors(400, 401, 403, 413, 415, 422),
        },
    )
    def create(self, request):
        user = request.user
        # An API client restricted to a partner company or a customer creates none (it could not see it).
        require(user, "workorders.create")
        key = _idempotency_key(request)
        body_hash = _body_hash(request.data) if key is not None else ""
        serializer = WorkOrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = site = equipment = None
        if data["site"] is not None or data["equipment"] is not None:
            customer, site, equipment = _customer_items(
                phone=data["contact_phone"], site_id=data["site"], equipment_id=data["equipment"]
            )
        work_order, created = workorder_create(
            channel=WorkOrder.Channel.API,
            contact_name=data["contact_name"],
            contact_phone=data["contact_phone"],
            contact_email=data["contact_email"],
            address=data["address"],
            service_type=data["service_type"],
            description=data["description"],
            priority=data["priority"],
            preferred_start=data["preferred_start"],
            preferred_end=data["preferred_end"],
            language=data["language"],
            created_by=user,
            actor_role=_office_role(user),
            submission_key=key,
            submission_hash=body_hash,
            customer=customer,
            site=site,
            equipment=equipment,
            external_ref=data["external_ref"],
            custom=data["custom"],
        )
        if not created:
            work_order = workorder_list(user=user).get(pk=work_order.pk)
        location = reverse("workorder-detail", args=[work_order.pk])
        return self._render(work_order, status=201 if created else 200, headers={"Location": location})

    @extend_schema(
        summary="Fire a lifecycle transition",
        description="assign, reassign, unassign, reject, accept, depart, arrive, hold, resume, complete, "
        "follow_up, close, reopen or cancel, as the lifecycle table allows for the caller's role and the "
        "work order's status, narrowed or extended by the flow of the order's service type (the roles per "
        "transition; no follow-up: `close` from resolved; photos before the work: `arrive` is 400 naming "
        "`photos` until the order has them). Each writes an event.",
        request=TRANSITION_REQUEST,
        parameters=[ID_PATH],
        responses={200: WorkOrderSerializer, **_errors(400, 401, 403, 404, 409, 413, 415)},
    )
    @action(detail=True, methods=["post"], url_path="transitions")
    def transitions(self, request, pk=None):
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        work_order = workorder_transition(
            work_order_id=int(pk),
            action=data["action"],
            actor=request.user,
            note=data["note"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            technician_id=data["technician"],
            appointment_start=data["appointment_start"],
            appointment_end=data["appointment_end"],
        )
        # Read back with what a row shows. Not through the caller's visibility:
        # after a reject the technician no longer sees the order, yet the
        # answer to their own request is the order as they left it.
        work_order = WorkOrder.objects.select_related(*LIST_RELATED).get(pk=work_order.pk)
        return self._render(work_order)
