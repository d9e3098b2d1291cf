"""Reads of work orders for pages, the API and services."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Case, JSONField, Prefetch, QuerySet, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from catalog.models import ServiceType
from catalog.selectors import service_types_by_pk
from core import roles as R
from core.compiled import CompiledValues
from core.refcache import VersionedCache, receiver_for
from core.versions import etag_of
from technicians.models import PartnerCompany, Technician

from .models import Attachment, WorkOrder, WorkOrderEvent


def workorder_visible_to(user) -> QuerySet:
    """The work orders ``user`` may see: office roles all, field roles their own scope, an API
    client's service user what its client is restricted to (all, a partner company's, a customer's)."""
    return _in_scope(WorkOrder.objects.all(), workorder_scope_key(user))


def _in_scope(queryset: QuerySet, scope: tuple) -> QuerySet:
    """``queryset`` narrowed to the work orders of ``scope`` (a ``workorder_scope_key``)."""
    kind = scope[0]
    if kind == "all":
        return queryset
    if kind == "partner":
        return queryset.filter(technician__partner_company_id=scope[1])
    if kind == "technician":
        return queryset.filter(technician_id=scope[1])
    if kind == "customer":
        return queryset.filter(customer_id=scope[1])
    return queryset.none()


def workorder_scope_key(user) -> tuple:
    """Which work orders ``user`` sees, as a key: users with equal keys see the same rows
    (the rule of ``workorder_visible_to``)."""
    if user is None or not user.is_authenticated:
        return ("none",)
    if user.is_superuser:
        return ("all",)
    names = R.roles_of(user)
    if names & R.OFFICE_ROLES:
        return ("all",)
    if R.INTEGRATION in names:  # an API client's service user: its client's restriction
        return R.client_scope(user)
    tech = R.technician_profile(user)
    if tech is None:
        return ("none",)
    if R.PARTNER_TECHNICIAN in names and tech.partner_company_id:
        return ("partner", tech.partner_company_id)
    if R.TECHNICIAN in names or R.PARTNER_TECHNICIAN in names:
        return ("technician", tech.pk)
    return ("none",)


def workorder_is_visible_to(user, work_order: WorkOrder) -> bool:
    """The same rule as ``workorder_visible_to``, for one loaded work order."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    names = R.roles_of(user)
    if names & R.OFFICE_ROLES:
        return True
    if R.INTEGRATION in names:
        scope = R.client_scope(user)
        if scope[0] == "all":
            return True
        if scope[0] == "customer":
            return work_order.customer_id == scope[1]
        if scope[0] == "partner" and work_order.technician_id is not None:
            return work_order.technician.partner_company_id == scope[1]
        return False
    tech = R.technician_profile(user)
    if tech is None or work_order.technician_id is None:
        return False
    if R.PARTNER_TECHNICIAN in names and tech.partner_company_id:
        return work_order.technician.partner_company_id == tech.partner_company_id
    if R.TECHNICIAN in names or R.PARTNER_TECHNICIAN in names:
        return work_order.technician_id == tech.pk
    return False


LIST_RELATED = ("customer", "service_type", "technician__user")


def workorder_etag(updated_at) -> str:
    """A work order's version as an HTTP entity tag (``"…"``): its last change, to the
    microsecond (``core.versions.etag_of``). Every change of an order sets ``updated_at``; an edit
    of its details moves it on by at least a microsecond (``services.workorder_update``), so two
    versions differ."""
    return etag_of(updated_at)


def workorder_list(*, user) -> QuerySet:
    """Rows for the staff queue and the API list, with what each row shows."""
    return workorder_visible_to(user).select_related(*LIST_RELATED)


# What a row of the staff queue shows, read as plain values (no model instances). The
# service type and the technician come from the process's copies (below), so the query
# joins only the customer: planning a five-table join cost PostgreSQL more than running it.
QUEUE_ROW_FIELDS = (
    "id", "status", "priority", "address", "created_at", "appointment_start", "appointment_end",
    "service_type_id", "customer_id", "customer__name", "technician_id",
    # The SLA clocks (workorders/sla.py SLA_STATE_FIELDS), shown as each row's targets.
    "sla_policy_id", "sla_started_at", "sla_paused_at", "sla_paused_seconds", "first_response_due", "arrival_due",
    "resolution_due", "first_response_met_at", "arrival_met_at", "resolution_met_at",
)


def workorder_queue_rows(queryset) -> QuerySet:
    """``queryset`` (from ``workorder_visible_to``, filtered) as the staff queue's row values."""
    return queryset.values(*QUEUE_ROW_FIELDS)


# What the detail page and the API's detail show of the order, its customer, site and
# equipment, read as plain values in one query (a superset of api.LIST_VALUES: the API
# builds its answer with the list's code). The service type and the technician come
# from the process's copies (below).
DETAIL_VALUES = (
    "id", "status", "priority", "channel", "external_ref", "site", "equipment", "service_type_id", "technician_id",
    "contact_name", "contact_phone", "contact_email", "address", "description", "language", "custom",
    "preferred_start", "preferred_end", "appointment_start", "appointment_end",
    "created_at", "updated_at", "assigned_at", "accepted_at", "arrived_at", "resolved_at", "closed_at",
    "sla_policy_id", "sla_started_at", "sla_paused_at", "sla_paused_seconds", "first_response_due", "arrival_due",
    "resolution_due", "first_response_met_at", "arrival_met_at", "resolution_met_at",
    "customer__id", "customer__name", "customer__phone", "customer__tier",
    "site__label", "site__address", "site__city", "site__latitude", "site__longitude",
    "equipment__brand", "equipment__model", "equipment__serial", "equipment__warranty_end",
    "coverage", "coverage_percent", "coverage_until", "contract_id", "contract__number", "contract__included_visits",
)

# The detail's query per kind of visibility scope ("all", "technician", "partner"):
# workorder_visible_to's rule, with the scope's id as a parameter.
_DETAIL_QUERIES = {
    "all": CompiledValues(lambda pk: WorkOrder.objects.filter(pk=pk).order_by().values(*DETAIL_VALUES), "pk"),
    **{
        kind: CompiledValues(
            lambda pk, scope_id, kind=kind: _in_scope(WorkOrder.objects.filter(pk=pk), (kind, scope_id))
            .order_by()
            .values(*DETAIL_VALUES),
            "pk", "scope_id",
        )
        for kind in ("technician", "partner")
    },
}

ATTACHMENT_VALUES = ("id", "kind", "content_type", "size", "width", "height", "original_name", "created_at")
_ATTACHMENTS = CompiledValues(
    lambda work_order_id: Attachment.objects.filter(work_order_id=work_order_id)
    .order_by("id")
    .values(*ATTACHMENT_VALUES),
    "work_order_id",
)


@dataclass
class WorkOrderDetail:
    """One work order as its detail page and the API show it: plain values, no model instances."""

    row: dict  # DETAIL_VALUES
    service_type: ServiceType  # the process's copy: read it, never change it
    technician: "TechnicianRef | None"  # None: unassigned, or the technician was removed a moment ago
    attachments: list[dict]  # ATTACHMENT_VALUES, oldest first
    history: list[dict]  # EVENT_VALUES and EVENT_DATA, oldest first (workorder_history)

    @property
    def pk(self) -> int:
        return self.row["id"]

    @property
    def number(self) -> str:
        """As ``WorkOrder.number``: WO-<year of creation, local time>-<id>."""
        return f"WO-{timezone.localtime(self.row['created_at']).year}-{self.row['id']:06d}"


def workorder_detail(*, user, pk: int) -> WorkOrderDetail | None:
    """One work order with its attachments and its history, if ``user`` may see it.

    Three small queries, each compiled once per process (``CompiledValues``): the
    order joined with its customer, site and equipment; its attachments; its events
    with their actors' names. Not one query joining all of them: PostgreSQL spent
    ~2 ms (more under load) planning such a join, twenty times what running it took.
    The service type and the technician (name, company, phone) come from the
    process's copies.
    """
    scope = workorder_scope_key(user)
    query = _DETAIL_QUERIES.get(scope[0])
    if query is None or not 0 < pk < 2**63:  # beyond any id: the database would refuse the number
        return None
    rows = query.rows(pk=pk) if scope[0] == "all" else query.rows(pk=pk, scope_id=scope[1])
    if not rows:
        return None
    row = rows[0]
    technician_id = row["technician_id"]
    technician = technician_refs({technician_id}).get(technician_id) if technician_id is not None else None
    return WorkOrderDetail(
        row=row,
        service_type=service_types_by_pk({row["service_type_id"]})[row["service_type_id"]],
        technician=technician,
        attachments=_ATTACHMENTS.rows(work_order_id=pk),
        history=workorder_history(work_order_id=pk),
    )


# An event as the history shows it: its columns and the actor's names (plain values:
# a history of 50 events would otherwise build 100 model instances). Of its data, only
# what the history names: the technician (assign, re-assign) and an escalation's details;
# decoding every event's JSON cost more than the rest of the row.
EVENT_VALUES = (
    "id", "action", "from_status", "to_status", "actor_id", "actor_role", "note", "latitude", "longitude",
    "created_at", "actor__username", "actor__first_name", "actor__last_name",
)
EVENT_DATA = {
    "technician_name": KeyTextTransform("technician_name", "data"),  # text or None
    "escalation": Case(When(action="escalate", then="data"), output_field=JSONField()),  # the data, or None
}
_HISTORY = CompiledValues(
    lambda work_order_id: WorkOrderEvent.objects.filter(work_order_id=work_order_id)
    .order_by("id")
    .values(*EVENT_VALUES, **EVENT_DATA),
    "work_order_id",
)


def workorder_history(*, work_order_id: int) -> list[dict]:
    """The work order's events, oldest first, as dicts of ``EVENT_VALUES`` and ``EVENT_DATA``."""
    return _HISTORY.rows(work_order_id=work_order_id)


def workorder_for_tracking(*, token: str) -> WorkOrder | None:
    """The work order behind a customer's private tracking link."""
    if not token or len(token) > 64:
        return None
    return (
        WorkOrder.objects.select_related("service_type", "technician__user")
        .prefetch_related(Prefetch("events", queryset=WorkOrderEvent.objects.order_by("id")))
        .filter(public_token=token)
        .first()
    )


# --- The customer's tracking page: parts other apps add --------------------------------------
# Apps above this one (completion) add what they know about an order to the customer's page
# from their AppConfig.ready(), so this app never reads their tables. A part is called as
# ``part(work_order=...)`` and returns some of the values of CUSTOMER_PAGE_DEFAULTS; parts
# run in the order they were registered, a later one's values win.

CUSTOMER_PAGE_DEFAULTS = {
    "description": None,  # what the customer asked for, in their words (None: the order's own description)
    "follows": "",  # the number of the visit this one follows, "" when it follows none
    "has_report": False,  # a signed service report can be downloaded
    "arrival": None,  # while en route: when the technician should arrive (an aware datetime), else None
    "self_service": None,  # what the customer may do now: {"cancel", "reschedule", "note": bool} (selfservice)
}
_CUSTOMER_PAGE_PARTS: list[Callable[..., dict]] = []


def register_customer_page_part(part: Callable[..., dict]) -> None:
    """Add ``part`` to the customer's tracking page (registering it again changes nothing)."""
    if part not in _CUSTOMER_PAGE_PARTS:
        _CUSTOMER_PAGE_PARTS.append(part)


def workorder_customer_page(*, work_order: WorkOrder) -> dict:
    """The values of CUSTOMER_PAGE_DEFAULTS for ``work_order``'s tracking page, as the registered parts give them."""
    values = dict(CUSTOMER_PAGE_DEFAULTS, description=work_order.description)
    for part in _CUSTOMER_PAGE_PARTS:
        values.update(part(work_order=work_order))
    return values


# --- What other apps add to the staff page of a new order ------------------------------------
# The detail page of an order still ``new`` shows each registered part (triage: the suggested
# service type, priority and skills, likely duplicates). A part gets the user and the
# ``WorkOrderDetail`` and answers a dict with the ``template`` to include and its values, or None.
# Orders past ``new`` call nothing, so the page costs what it did for them.

_NEW_ORDER_PARTS: list[Callable[..., dict | None]] = []


def register_new_order_part(part: Callable[..., dict | None]) -> None:
    """Add ``part`` to the staff page of new orders (registering it again changes nothing)."""
    if part not in _NEW_ORDER_PARTS:
        _NEW_ORDER_PARTS.append(part)


def workorder_new_order_parts(*, user, detail) -> list[dict]:
    return [values for values in (part(user=user, detail=detail) for part in _NEW_ORDER_PARTS) if values]


# --- Technicians by id, kept per process ---------------------------------------------------
# The queue's filter lists every technician (hundreds of options), list rows name their
# technician, the detail page shows the order's technician and offers the active ones
# when assigning: all read these instead of joining more tables into each page's query.
# Dropped when a technician is added or removed, or a name, username, phone, active flag,
# partner company or a company's name changes (positions and other columns do not matter here).

TECHNICIAN_CHOICES = VersionedCache("technician_choices")
_WATCHED = {
    "Technician": frozenset({"user", "user_id", "partner_company", "partner_company_id", "phone", "active"}),
    "User": frozenset({"first_name", "last_name", "username"}),
}


@dataclass(frozen=True)
class TechnicianRef:
    pk: int
    name: str  # as str(technician): the full name, else the username
    username: str
    partner_company_id: int | None
    partner_company_name: str = ""  # empty: not a partner's technician
    phone: str = ""
    active: bool = True


def _technician_names_changed(sender, created=False, update_fields=None, **kwargs):
    watched = _WATCHED["Technician" if sender is Technician else "User"]
    if created or update_fields is None or watched & set(update_fields):
        TECHNICIAN_CHOICES.bump()


def _technician_removed(sender, **kwargs):
    TECHNICIAN_CHOICES.bump()


for _sender in (Technician, get_user_model()):
    post_save.connect(_technician_names_changed, sender=_sender, dispatch_uid=f"refcache-tech-save-{_sender.__name__}")
    post_delete.connect(_technician_removed, sender=_sender, dispatch_uid=f"refcache-tech-delete-{_sender.__name__}")
post_save.connect(receiver_for(TECHNICIAN_CHOICES), sender=PartnerCompany, weak=False,
                  dispatch_uid="refcache-tech-company-save")
post_delete.connect(receiver_for(TECHNICIAN_CHOICES), sender=PartnerCompany, weak=False,
                    dispatch_uid="refcache-tech-company-delete")


def _technician_refs_by_username() -> list[TechnicianRef]:
    def load():
        rows = Technician.objects.order_by("user__username", "pk").values_list(
            "pk", "user__first_name", "user__last_name", "user__username", "partner_company_id",
            "partner_company__name", "phone", "active",
        )
        return [
            TechnicianRef(pk, f"{first} {last}".strip() or username, username, company, company_name or "", phone,
                          active)
            for pk, first, last, username, company, company_name, phone, active in rows
        ]

    return TECHNICIAN_CHOICES.get("refs", load)


def technician_choices() -> list[tuple[int, str]]:
    """(id, name) of every technician, active or not, by username (as ``str(technician)`` shows them)."""
    return TECHNICIAN_CHOICES.get("choices", lambda: [(t.pk, t.name) for t in _technician_refs_by_username()])


def technician_refs(ids=()) -> dict[int, TechnicianRef]:
    """Every technician by id; reloaded once if one of ``ids`` is missing (added a moment
    ago in another worker, before its change reached this one)."""
    refs = TECHNICIAN_CHOICES.get("by_pk", lambda: {t.pk: t for t in _technician_refs_by_username()})
    if any(pk is not None and pk not in refs for pk in ids):
        TECHNICIAN_CHOICES.clear_local()
        refs = TECHNICIAN_CHOICES.get("by_pk", lambda: {t.pk: t for t in _technician_refs_by_username()})
    return refs


