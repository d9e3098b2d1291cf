"""Creating work orders: one at a time (the form, the phone intake, the API, email) and many at
once (the maintenance sweep), and the customer writing again about an open one."""

import uuid
from dataclasses import dataclass, field
from contextlib import nullcontext

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.custom_fields import intake_values_clean
from catalog.models import ServiceType
from contracts.selectors import coverage_for
from core import roles as R
from core.errors import InvalidInput, Unprocessable
from core.inserts import Insert, insert_linked, json_rows
from core.images import CleanImage
from core.storage import delete_files, save_files
from customers.models import Customer, Equipment, Site
from customers.selectors import customer_with_site_at, site_at_address
from customers.services import (
    customer_fill_email,
    customer_insert,
    site_insert,
    sites_locate_after_commit,
)
from notifications import webhooks
from notifications.services import notifications_add

from ..lifecycle import Status
from ..messages import created_webhooks
from ..models import Attachment, WorkOrder, WorkOrderEvent, new_public_token
from ..sla import sla_fields_for_new



DESCRIPTION_MAX = 4000
EXTERNAL_REF_MAX = 100  # WorkOrder.external_ref's max_length


def _check_window(start, end, *, field: str):
    if (start is None) != (end is None):
        message = _("Give both the start and the end of the time window.")
        raise InvalidInput(message, fields={field: [message]})
    if start is not None and end <= start:
        message = _("The end of the time window must be after its start.")
        raise InvalidInput(message, fields={field: [message]})


def _check_create_arguments(
    *, description, address, service_type, priority, photos, preferred_start, preferred_end, external_ref,
    customer, site, equipment, custom,
) -> tuple[str, str | None, dict]:
    """``workorder_create``'s arguments checked before anything is written: the description, the
    reference and the custom fields as kept, or InvalidInput saying what is wrong."""
    description = (description or "").strip()
    if not description:
        raise InvalidInput(_("Describe the problem."), fields={"description": [_("This field is required.")]})
    if len(description) > DESCRIPTION_MAX:
        message = _("Keep the description under %(n)d characters.") % {"n": DESCRIPTION_MAX}
        raise InvalidInput(message, fields={"description": [message]})
    if not (address or "").strip() and site is None:
        raise InvalidInput(_("The address is required."), fields={"address": [_("This field is required.")]})
    if not service_type.active:
        message = _("This service type is not offered any more.")
        raise InvalidInput(message, fields={"service_type": [message]})
    if priority not in WorkOrder.Priority.values:
        raise InvalidInput(_("Unknown priority."), fields={"priority": [_("Unknown priority.")]})
    if len(photos) > settings.PUBLIC_FORM_MAX_PHOTOS:
        message = _("Attach at most %(n)d photos.") % {"n": settings.PUBLIC_FORM_MAX_PHOTOS}
        raise InvalidInput(message, fields={"photos": [message]})
    _check_window(preferred_start, preferred_end, field="preferred_end")
    if external_ref is not None:
        external_ref = _clean_external_ref(external_ref)
    if customer is not None:
        if site is not None and site.customer_id != customer.pk:
            raise InvalidInput(_("That site belongs to another customer."), fields={"site": [_("Not this customer's site.")]})
        if equipment is not None and equipment.customer_id != customer.pk:
            raise InvalidInput(
                _("That equipment belongs to another customer."), fields={"equipment": [_("Not this customer's equipment.")]}
            )
    if equipment is not None and not equipment.active:
        message = _("This equipment is out of service; a new work order cannot name it.")
        raise InvalidInput(message, fields={"equipment": [message]})
    custom = {} if custom is None else intake_values_clean(service_type_id=service_type.pk, values=custom)
    return description, external_ref, custom


def workorder_create(
    *,
    channel: str,
    contact_name: str,
    contact_phone: str,
    address: str,
    service_type: ServiceType,
    description: str,
    contact_email: str = "",
    priority: int = WorkOrder.Priority.NORMAL,
    preferred_start=None,
    preferred_end=None,
    language: str = "",
    photos: list[CleanImage] = (),
    created_by=None,
    actor_role: str = R.CUSTOMER,
    submission_key: uuid.UUID | None = None,
    submission_hash: str = "",
    customer: Customer | None = None,
    site: Site | None = None,
    equipment: Equipment | None = None,
    external_ref: str | None = None,
    event_data: dict | None = None,
    custom: dict | None = None,
) -> tuple[WorkOrder, bool]:
    """Create a work order with its creation event and photos.

    ``contact_phone`` is already normalised (E.164). The customer is found by
    that number or created. Returns ``(work_order, created)``: a replay of the
    same ``submission_key`` returns the first work order and ``False``.
    ``submission_hash`` (the API: a hash of the request's body) is kept with the key;
    the key sent again with a different one is refused (``Unprocessable``, 422).
    ``external_ref``: the order's reference in the caller's system; one another order has
    is refused (``InvalidInput``), found by the unique key, with no query beforehand.
    ``event_data``: more to keep in the creation event's data (the triage suggestion the agent
    saw and whether they accepted it, triage/outcomes.py).
    ``custom``: the service type's intake custom fields, key → value, checked in full (a required
    one missing is refused) by ``catalog.custom_fields``; None where the channel cannot ask them
    (public form, email, plans, second visits): the order starts with none.

    The customer, the site, the order, its event and the rows other
    apps add (``work_order_inserting``: the reports' figures) are written by one
    prepared statement (``_insert_new_order``), which outside a transaction block
    commits by itself: a request from a new number costs one round trip and one
    WAL flush. Nothing runs after the commit.
    """
    description, external_ref, custom = _check_create_arguments(
        description=description, address=address, service_type=service_type, priority=priority, photos=photos,
        preferred_start=preferred_start, preferred_end=preferred_end, external_ref=external_ref,
        customer=customer, site=site, equipment=equipment, custom=custom,
    )
    language = language or settings.LANGUAGE_CODE
    now = timezone.now()
    created_by = created_by if created_by is not None and created_by.is_authenticated else None
    work_order = WorkOrder(
        channel=channel, customer=customer, site=site, equipment=equipment, service_type=service_type,
        contact_name=contact_name.strip(), contact_phone=contact_phone, contact_email=contact_email,
        address=(address or site.address).strip(), description=description, priority=priority,
        preferred_start=preferred_start, preferred_end=preferred_end, language=language,
        external_ref=external_ref, custom=custom,
        submission_key=submission_key, submission_hash=submission_hash if submission_key is not None else "",
        created_by=created_by, created_at=now, updated_at=now,
    )
    event = WorkOrderEvent(
        action="create", from_status="", to_status=Status.NEW, actor=created_by, actor_role=actor_role,
        data={**(event_data or {}), "channel": channel}, created_at=now,
    )
    caller = {"name": contact_name, "phone": contact_phone, "email": contact_email, "language": language}
    try:
        _write_new_order(work_order, event, caller=caller, address=address, photos=photos)
    except IntegrityError:
        existing = _replayed_order(submission_key=submission_key, submission_hash=submission_hash,
                                   external_ref=external_ref)
        if existing is None:
            raise
        return existing, False
    return work_order, True


def _write_new_order(work_order: WorkOrder, event: WorkOrderEvent, *, caller: dict, address: str,
                     photos: list[CleanImage]) -> None:
    # One statement commits by itself; inside a caller's transaction (or with photos
    # to save beside it) a savepoint lets a replay's IntegrityError undo only this.
    block = transaction.atomic() if photos or connection.in_atomic_block else nullcontext()
    with block:
        _insert_new_order(work_order, event, caller=caller, address=address)
        _add_photos(work_order, photos)


def _replayed_order(*, submission_key, submission_hash: str, external_ref: str | None) -> WorkOrder | None:
    """Why a unique key refused a new order: the order a replayed submission made first, or
    InvalidInput for a reference another order has; None when it was neither."""
    # A replayed submission (double click, retry after a timeout): the
    # unique submission key lets the first one win; answer with it.
    if submission_key is not None:
        existing = WorkOrder.objects.filter(submission_key=submission_key).first()
        if existing is not None:
            if submission_hash and existing.submission_hash and existing.submission_hash != submission_hash:
                message = _("This key was already used for a different request; send a new key.")
                raise Unprocessable(message, code="idempotency_key_reused",
                                    fields={"Idempotency-Key": [message]}) from None
            return existing
    if external_ref is not None and WorkOrder.objects.filter(external_ref=external_ref).exists():
        raise _external_ref_taken(external_ref) from None
    return None


@dataclass(frozen=True)
class PlannedOrder:
    """One order a plan asks for (``workorders_create_planned``): whom, where, what and when.

    ``contract_id``: the contract that pays for the visit (its share, ``coverage_percent``, and
    last day, ``coverage_until``, are kept on the order as at intake). ``event_data``: kept in the
    creation event (the plan and visit it came from, the preferred technician).
    """

    customer_id: int
    contact_name: str
    contact_phone: str
    address: str
    service_type_id: int
    description: str
    preferred_start: object
    preferred_end: object
    site_id: int | None = None
    equipment_id: int | None = None
    priority: int = WorkOrder.Priority.NORMAL
    language: str = ""
    contract_id: int | None = None
    coverage_percent: int = 0
    coverage_until: object = None
    event_data: dict = field(default_factory=dict)
    id: int | None = None  # drawn beforehand with ``WORKORDER_ID_DRAW`` (a row that links to the order first)


# What differs from one planned order to the next; every other column of the order takes the
# same value for all of them (``_planned_statement``).
_PLANNED_VARYING = (
    "customer_id", "site_id", "equipment_id", "service_type_id", "contact_name", "contact_phone", "address",
    "description", "priority", "preferred_start", "preferred_end", "language", "contract_id", "coverage",
    "coverage_percent", "coverage_until", "public_token",
)
_PLANNED_CHUNK = 2000
_PLANNED_SQL: dict = {}


# An SQL expression drawing a new work order's id from its sequence: a caller that writes a row
# pointing at an order before the order itself (in the same transaction; Django's foreign keys
# are checked at commit) draws the id with it and passes it as ``PlannedOrder.id``.
WORKORDER_ID_DRAW = (
    f"nextval(pg_get_serial_sequence('{WorkOrder._meta.db_table}', '{WorkOrder._meta.pk.column}'))"
)


def _planned_statement() -> tuple[str, list, list]:
    """The statement that writes a chunk of planned orders and their creation events, and the
    order's and the event's columns that take one value for the whole chunk.

    The orders' ids are drawn from their sequence first (``nextval`` in a materialized CTE, unless
    the caller drew them already), so that the orders, their events and the answer (the ids in
    the order given) need no second statement: ONE statement per chunk, the rows as one JSON
    parameter (as ``core.inserts``).
    """
    key = connection.alias
    if key not in _PLANNED_SQL:
        qn = connection.ops.quote_name
        fields = [f for f in WorkOrder._meta.concrete_fields if not f.primary_key]
        varying = [f for f in fields if f.attname in _PLANNED_VARYING]
        constant = [f for f in fields if f.attname not in _PLANNED_VARYING]
        event_constant = [f for f in WorkOrderEvent._meta.concrete_fields
                          if not f.primary_key and f.attname not in ("work_order_id", "data")]
        record = ", ".join(f"{qn(f.column)} {f.db_type(connection)}" for f in varying)
        table, events = qn(WorkOrder._meta.db_table), qn(WorkOrderEvent._meta.db_table)
        sql = f"""
WITH r AS MATERIALIZED (
    SELECT COALESCE(r.drawn_id, {WORKORDER_ID_DRAW}) AS new_id, r.*
      FROM jsonb_to_recordset(%s::jsonb) AS r(ord integer, drawn_id bigint, event_data jsonb, {record})
), w AS (
    INSERT INTO {table} ({qn(WorkOrder._meta.pk.column)}, {", ".join(qn(f.column) for f in varying + constant)})
    SELECT r.new_id, {", ".join(f"r.{qn(f.column)}" for f in varying)},
           {", ".join(f"%s::{f.db_type(connection)}" for f in constant)}
      FROM r
), e AS (
    INSERT INTO {events} ({qn("work_order_id")}, {qn("data")}, {", ".join(qn(f.column) for f in event_constant)})
    SELECT r.new_id, r.event_data, {", ".join(f"%s::{f.db_type(connection)}" for f in event_constant)}
      FROM r
)
SELECT new_id FROM r ORDER BY ord
"""
        _PLANNED_SQL[key] = (sql, constant, event_constant)
    return _PLANNED_SQL[key]


def workorders_create_planned(*, orders: list[PlannedOrder], actor=None) -> list[int]:
    """Create many planned orders (channel "maint") with their creation events; returns their ids
    in the order given.

    One statement per 2,000 orders writes the orders and their events (``_planned_statement``):
    a year of visits for 50,000 pieces of equipment is a few hundred statements, not a million,
    and no model instance is built per order. Call it inside the caller's transaction (the
    plan's visit rows link to these orders); it opens its own when there is none.

    A planned order has no SLA clock: it is measured by its visit day (the preferred window),
    not by a response target counted from its creation weeks before the visit. The reports'
    summary rows follow from the events (``reports.tasks.reports_facts_sweep``); webhooks
    announcing new orders are written as for any other order (none, at no cost, when no
    endpoint listens). No model signals are sent.
    """
    if not orders:
        return []
    for order in orders:
        if not (order.description or "").strip() or not (order.address or "").strip():
            raise InvalidInput(_("A planned order needs a description and an address."))
        if order.priority not in WorkOrder.Priority.values:
            raise InvalidInput(_("Unknown priority."), fields={"priority": [_("Unknown priority.")]})
        _check_window(order.preferred_start, order.preferred_end, field="preferred_end")
    now = timezone.now()
    created_by = actor if actor is not None and actor.is_authenticated else None
    channel = WorkOrder.Channel.MAINTENANCE
    # The columns every order of the call shares, as ``save()`` would send them.
    template = WorkOrder(channel=channel, status=Status.NEW, created_by=created_by, created_at=now, updated_at=now)
    event = WorkOrderEvent(action="create", from_status="", to_status=Status.NEW, actor=created_by,
                           actor_role=R.SYSTEM if created_by is None else R.MANAGER, created_at=now)
    sql, constant, event_constant = _planned_statement()
    shared = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in constant]
    shared += [f.get_db_prep_save(getattr(event, f.attname), connection) for f in event_constant]
    rows = [
        {
            "ord": i, "drawn_id": o.id, "event_data": {**o.event_data, "channel": channel},
            "customer_id": o.customer_id, "site_id": o.site_id, "equipment_id": o.equipment_id,
            "service_type_id": o.service_type_id, "contact_name": o.contact_name.strip()[:120],
            "contact_phone": o.contact_phone, "address": o.address.strip()[:255],
            "description": o.description.strip()[:DESCRIPTION_MAX], "priority": int(o.priority),
            "preferred_start": o.preferred_start, "preferred_end": o.preferred_end,
            "language": o.language or settings.LANGUAGE_CODE, "contract_id": o.contract_id,
            "coverage": "contract" if o.contract_id else "",
            "coverage_percent": o.coverage_percent if o.contract_id else 0,
            "coverage_until": o.coverage_until if o.contract_id else None,
            "public_token": new_public_token(),
        }
        for i, o in enumerate(orders)
    ]
    ids: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for low in range(0, len(rows), _PLANNED_CHUNK):
            cursor.execute(sql, [json_rows(rows[low:low + _PLANNED_CHUNK]), *shared])
            ids += [row[0] for row in cursor.fetchall()]
        if settings.OUTBOX_WRITE_ENABLED and webhooks.listening(webhooks.Event.WORK_ORDER_CREATED):
            hooks = []
            for pk, row in zip(ids, rows, strict=True):
                wo = WorkOrder(pk=pk, channel=channel, status=Status.NEW, created_at=now, updated_at=now,
                               **{k: v for k, v in row.items() if k not in ("ord", "drawn_id", "event_data")})
                for hook in created_webhooks(wo):
                    hook.subject_id = pk  # the body's "work_order_id" (its payload's "key")
                    hooks.append(hook)
            notifications_add(hooks)
    return ids


def workorder_add_customer_note(*, work_order_id: int, status: str, note: str, photos: list[CleanImage] = (),
                                 channel: str = WorkOrder.Channel.WEB) -> WorkOrderEvent:
    """A customer's repeat of an open request (``duplicates.public_form_duplicate``), kept on it as
    a ``customer_note`` event (the text as the customer wrote it again) with their photos.

    ``status``: the order's state as just read; the event records it as both ends. Events are
    append-only, so no lock is needed: only the order's ``updated_at`` moves on (an integration
    syncing by ``updated_after`` sees the repeat), in one UPDATE that touches nothing else.
    """
    note = (note or "").strip()[:DESCRIPTION_MAX]
    if len(photos) > settings.PUBLIC_FORM_MAX_PHOTOS:
        message = _("Attach at most %(n)d photos.") % {"n": settings.PUBLIC_FORM_MAX_PHOTOS}
        raise InvalidInput(message, fields={"photos": [message]})
    with transaction.atomic():
        event = WorkOrderEvent.objects.create(
            work_order_id=work_order_id, action="customer_note", from_status=status, to_status=status,
            actor_role=R.CUSTOMER, note=note, data={"channel": channel, "repeat": True},
        )
        WorkOrder.objects.filter(pk=work_order_id).update(updated_at=event.created_at)
        if photos:
            _add_photos(WorkOrder(pk=work_order_id), photos)
    return event


# Rows other apps write for a new order in the statement that writes it (PostgreSQL), so
# that a creation needs no second transaction after its commit. Each receiver gets the
# unsaved ``work_order`` (SLA fields set), its ``customer_tier`` and the aliases of the
# ``order`` and its creation ``event`` to link to (and of the ``customer``, when the caller is
# new and their row is written by the same statement; else None), and answers a
# ``core.inserts.Insert`` or None. The reports app answers with the order's summary row (reports/facts.py).
work_order_inserting = Signal()


def _set_coverage(work_order: WorkOrder) -> None:
    """What covers the new order (a contract or the equipment's warranty), kept on it.

    A new customer has no contract: no query. A known one costs one indexed query, and none
    when the company has no active contract (contracts/selectors.py)."""
    coverage = coverage_for(
        customer_id=work_order.customer_id, equipment=work_order.equipment,
        service_type_id=work_order.service_type_id, day=timezone.localdate(work_order.created_at),
    )
    work_order.contract = coverage.contract
    work_order.coverage = coverage.kind
    work_order.coverage_percent = coverage.percent
    work_order.coverage_until = coverage.until


def _set_sla(work_order: WorkOrder, tier: str) -> None:
    fields = sla_fields_for_new(
        priority=work_order.priority, customer_tier=tier, service_type_id=work_order.service_type_id,
        now=work_order.created_at,
        contract_policy_id=work_order.contract.sla_policy_id if work_order.contract_id else None,
    )
    for name, value in fields.items():
        setattr(work_order, name, value)


def _values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _saved(obj, pk) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def _insert_new_order(work_order: WorkOrder, event: WorkOrderEvent, *, caller: dict, address: str) -> None:
    """PostgreSQL: the customer found by phone or created, the site, the order, its creation
    event and the other apps' rows (``work_order_inserting``), in ONE statement (core/inserts.py).
    The customer and site parts and their rules are the customers app's.

    A new number (most requests) takes that one statement. A number on file makes it
    write nothing; then one query reads the customer with their site at this address,
    and one statement writes the rest. Two first requests from one number at once:
    the unique phone column decides, the other one waits for it, then reads its row.
    """
    if work_order.customer_id is not None and work_order.site_id is None:
        # A known customer (phone intake): their site at this address, if they have one.
        known_site = site_at_address(customer_id=work_order.customer_id, address=address)
        work_order.site_id = known_site.pk if known_site else None
    email_update = None
    # Webhook rows for the new order (none, at no query, when no endpoint listens), in the same statement.
    hooks = created_webhooks(work_order) if settings.OUTBOX_WRITE_ENABLED else []
    for _attempt in range(3):
        parts = [] if email_update is None else [email_update]
        if work_order.customer_id is None:
            customer_part = customer_insert(**caller, created_at=work_order.created_at)
            new = Customer(**customer_part.values)
            tier = new.tier
            parts.append(customer_part)
            links = {"customer_id": "c"}
        else:
            new, tier, links = None, work_order.customer.tier, {}
        if work_order.site_id is None:
            site_part = site_insert(customer_id=work_order.customer_id, address=address, links=links)
            parts.append(site_part)
            links["site_id"] = "s"
        if work_order.customer_id is not None or work_order.equipment_id is not None:
            _set_coverage(work_order)
        _set_sla(work_order, tier)
        parts.append(Insert("w", WorkOrder, _values(work_order), links=links))
        parts.append(Insert("e", WorkOrderEvent, _values(event), links={"work_order_id": "w"}))
        for _receiver, row in work_order_inserting.send(
            sender=WorkOrder, work_order=work_order, customer_tier=tier, order="w", event="e",
            customer=links.get("customer_id"),
        ):
            if row is not None:
                parts.append(row)
        if hooks:
            parts += webhooks.linked_inserts(hooks, subject="w")
        ids = insert_linked(*parts)
        if ids is not None:
            if new is not None:
                _saved(new, ids["c"])
                work_order.customer = new
            if "s" in ids:
                site = Site(**{**site_part.values, "customer_id": work_order.customer.pk})
                site.customer = work_order.customer
                _saved(site, ids["s"])
                work_order.site = site
                # Located by a worker once this commits (at once: the statement committed by itself
                # unless a caller's transaction is open); never on this request.
                sites_locate_after_commit(site_ids=[site.pk])
            _saved(work_order, ids["w"])
            _saved(event, ids["e"])
            event.work_order = work_order
            if hooks:
                webhooks.linked_saved(hooks, ids, subject_id=work_order.pk)
            return
        # The number is on file: a repeat caller. Their record, and their site at this address.
        customer = customer_with_site_at(phone=caller["phone"], address=address)
        if customer is None:
            continue  # removed in the meantime: create it after all
        work_order.customer = customer
        work_order.site_id = customer.site_here
        email_update = customer_fill_email(customer, caller["email"])
    raise IntegrityError("could not find or create the customer with this phone number")


def _add_photos(work_order: WorkOrder, photos: list[CleanImage], *,
                kind: str = Attachment.Kind.CUSTOMER_PHOTO) -> list[Attachment]:
    """The customer's photos (or the technician's, by ``kind``), as re-encoded by
    ``core.images.clean_image`` (no metadata). Stored all or none (``core.storage.save_files``): a
    file store that does not answer refuses the request (``ServiceUnavailable``, the caller's
    transaction rolled back), with no file left behind."""
    if not photos:
        return []
    attachments = [
        Attachment(
            work_order=work_order,
            kind=kind,
            content_type=photo.content_type,
            size=photo.size,
            width=photo.width,
            height=photo.height,
            original_name=photo.name,
        )
        for photo in photos
    ]
    # The storage name comes from attachment_path, which reads the content type.
    save_files([(attachment.file, photo.content) for attachment, photo in zip(attachments, photos)])
    try:
        for attachment in attachments:
            attachment.save()
    except BaseException:
        # A row that could not be written: its files go too (the caller's transaction rolls back).
        delete_files([attachment.file for attachment in attachments])
        raise
    return attachments


def _clean_external_ref(value) -> str | None:
    """An external reference as stored: trimmed text, or None for none (blank counts as none)."""
    value = (value or "").strip()
    if len(value) > EXTERNAL_REF_MAX:
        message = _("Keep the reference under %(n)d characters.") % {"n": EXTERNAL_REF_MAX}
        raise InvalidInput(message, fields={"external_ref": [message]})
    if "\x00" in value:
        message = _("Null characters are not allowed.")
        raise InvalidInput(message, fields={"external_ref": [message]})
    return value or None


def _external_ref_taken(value: str) -> InvalidInput:
    message = _("Another work order has the reference %(ref)s.") % {"ref": value}
    return InvalidInput(message, fields={"external_ref": [message]})
