"""What the work-order API answers: the output serializers and the rows built from ``values()``.

The output serializers declare their fields (that is what the OpenAPI schema shows) but build each
row by hand in ``to_representation``: a list page of 200 rows then costs a few dictionary writes per
row instead of a field object per value. ``tests/workorders/test_api_schema.py`` checks that the two
agree."""

from datetime import UTC

from django.utils import timezone
from django.utils.translation import get_language
from rest_framework import serializers

from catalog.selectors import service_type_refs
from core import roles as R
from core.permissions import may
from sla.models import SlaTarget

from ..lifecycle import TRANSITIONS, Status, available_actions
from ..models import Attachment, WorkOrder
from ..selectors import (
    WorkOrderDetail,
    technician_refs,
)
from ..sla import SLA_STATE_FIELDS, target_states, target_states_json, target_states_json_rows, target_states_rows
from ..sla import STATE_LABELS as SLA_STATE_LABELS



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
