"""The lifecycle's one door: ``workorder_transition`` fires a row of ``lifecycle.TRANSITIONS``
(checks, effects, after hooks) on one locked order; ``workorder_arrive`` is the arrival with its
before-photos."""


from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import roles as R
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.images import clean_image
from core.storage import delete_files
from core.validation import position_check

from .. import hooks
from ..lifecycle import TRANSITIONS, Status, technician_check, transition_for
from ..messages import transition_event_add
from ..models import Attachment, WorkOrder, WorkOrderEvent
from ..selectors import workorder_is_visible_to

from .create import _add_photos, _check_window

# The most photos one step takes (a completion report takes as many).
MAX_STEP_PHOTOS = 10


def workorder_arrive(*, work_order_id: int, actor, photos=(), note: str = "", latitude=None,
                     longitude=None) -> WorkOrder:
    """Arrive and start the work (the ``arrive`` transition) with the photos taken before it, where
    the service type's flow asks for some (its ``flow.before_photos`` check counts them). The photos
    and the step are one transaction: a refused step keeps no photo and no file."""
    photos = list(photos)
    if len(photos) > MAX_STEP_PHOTOS:
        message = _("Attach at most %(n)d photos.") % {"n": MAX_STEP_PHOTOS}
        raise InvalidInput(message, fields={"photos": [message]})
    # Someone who may not see the order learns nothing, and stores nothing.
    work_order = WorkOrder.objects.filter(pk=work_order_id).first()
    if work_order is None or actor is None or not workorder_is_visible_to(actor, work_order):
        raise NotFound(_("No such work order."))
    clean = [clean_image(photo, field="photos") for photo in photos]  # decoded before anything is locked
    attachments = []
    try:
        with transaction.atomic():
            attachments = _add_photos(work_order, clean, kind=Attachment.Kind.BEFORE_PHOTO)
            return workorder_transition(work_order_id=work_order.pk, action="arrive", actor=actor, note=note,
                                        latitude=latitude, longitude=longitude,
                                        data={"before_photos": len(attachments)} if attachments else None)
    except Exception:
        delete_files([attachment.file for attachment in attachments])
        raise


def _acting_role(*, actor, actor_role: str | None, transition, work_order: WorkOrder) -> str:
    """The role in which ``actor`` fires ``transition``, or an error saying why not."""
    if actor is None or not actor.is_authenticated:
        if actor_role in (R.SYSTEM, R.CUSTOMER) and actor_role in transition.roles:
            return actor_role
        raise Forbidden(_("You may not %(action)s this work order.") % {"action": transition.label.lower()})
    if not workorder_is_visible_to(actor, work_order):
        raise NotFound(_("No such work order."))
    if actor.is_superuser:
        return actor_role or "admin"
    allowed = sorted(transition.roles & R.roles_of(actor))
    if actor_role:
        if actor_role not in allowed:
            raise Forbidden(_("You may not %(action)s this work order.") % {"action": transition.label.lower()})
        return actor_role
    if not allowed:
        raise Forbidden(_("Your role may not %(action)s a work order.") % {"action": transition.label.lower()})
    return allowed[0]


def _state_conflict(transition, work_order: WorkOrder) -> Conflict:
    current = Status(work_order.status).label
    if transition.action == "assign" and work_order.technician_id:
        message = _("%(number)s is already assigned to %(tech)s.") % {
            "number": work_order.number,
            "tech": work_order.technician,
        }
    else:
        message = _("Cannot %(action)s %(number)s: it is %(status)s.") % {
            "action": transition.label.lower(),
            "number": work_order.number,
            "status": str(current).lower(),
        }
    return Conflict(message, code="transition_not_allowed")


def workorder_transition(
    *,
    work_order_id: int,
    action: str,
    actor=None,
    actor_role: str | None = None,
    note: str = "",
    latitude=None,
    longitude=None,
    technician_id: int | None = None,
    appointment_start=None,
    appointment_end=None,
    data: dict | None = None,
) -> WorkOrder:
    """Fire one lifecycle transition (see ``lifecycle.TRANSITIONS``).

    Runs the row's named checks, effects and after hooks (``workorders/hooks.py``, this app's
    in ``workorders/effects.py``) in the table's order, in one transaction with the order locked.

    Raises InvalidInput (bad arguments), NotFound (no such work order, or not
    one the actor may see), Forbidden (the actor's role may not fire it) or
    Conflict (the work order is not in a state this transition leaves from).
    In every error case nothing changes.
    """
    transition, note = _transition_arguments(action, note, technician_id, appointment_start, appointment_end)
    latitude, longitude = position_check(latitude, longitude)
    # The row's hooks, looked up before anything is locked (ImproperlyConfigured if one is missing).
    checks, effects, after = hooks.resolve(transition)

    with transaction.atomic():
        # Lock the work order's row for the rest of the transaction: when two
        # people act on one order at once, the second waits here and then sees
        # the first one's result, so it gets a clear conflict, never a lost update.
        # No joins in the locking query: after waiting for the lock, PostgreSQL
        # re-reads the locked row but not rows joined to it, so joined columns
        # could be stale. Related rows load after the lock is held.
        work_order = WorkOrder.objects.select_for_update().filter(pk=work_order_id).first()
        if work_order is None:
            raise NotFound(_("No such work order."))
        # The row as this order's service type's flow has it (its roles, its states; kept per process).
        transition = transition_for(transition.action, work_order.service_type_id)
        role = _acting_role(actor=actor, actor_role=actor_role, transition=transition, work_order=work_order)
        if work_order.status not in transition.sources_for(role):
            raise _state_conflict(transition, work_order)

        ctx = hooks.Ctx(
            work_order=work_order, transition=transition, from_status=work_order.status,
            target=transition.target_for(work_order), now=timezone.now(), actor=actor, role=role, note=note,
            latitude=latitude, longitude=longitude, technician_id=technician_id,
            appointment_start=appointment_start, appointment_end=appointment_end, event_data=dict(data or {}),
        )
        for check in checks:
            check(ctx)
        work_order.status = ctx.target
        changed = ["status", "updated_at"]
        for effect in effects:
            changed += effect(ctx)
        _save_transitioned(ctx, changed)
        # The event, and the messages the transition causes (to the technician, the
        # customer) in the outbox, written in this transaction (one statement) and
        # sent after commit.
        transition_event_add(_transition_event(ctx), work_order, action=transition.action, now=ctx.now)
        for hook in after:
            hook(ctx)
    return ctx.work_order


def _transition_arguments(action, note, technician_id, appointment_start, appointment_end):
    """The transition named ``action`` and the note as kept, or InvalidInput saying what is wrong."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise InvalidInput(_("Unknown action %(action)s.") % {"action": action}, fields={"action": [_("Unknown action.")]})
    note = (note or "").strip()
    if transition.reason_required and not note:
        message = _("A reason is required.")
        raise InvalidInput(message, fields={"note": [message]})
    if len(note) > 2000:
        raise InvalidInput(_("Keep the note under 2000 characters."), fields={"note": [_("Too long.")]})
    if transition.needs_technician:
        # Dispatch's rules, looked up before anything is locked (ImproperlyConfigured if missing).
        technician_check(action)
        if not technician_id:
            message = _("Choose a technician.")
            raise InvalidInput(message, fields={"technician": [message]})
        _check_window(appointment_start, appointment_end, field="appointment_end")
    return transition, note


def _save_transitioned(ctx: hooks.Ctx, changed: list[str]) -> None:
    try:
        ctx.work_order.save(update_fields=sorted(set(changed)))
    except IntegrityError as exc:
        # PostgreSQL's exclusion constraint: the technician's windows overlap
        # (the locked check normally says so first, with the order's number).
        if "wo_no_double_booking" not in str(exc):
            raise
        raise Conflict(
            _("%(tech)s is already booked at an overlapping time.") % {"tech": ctx.technician},
            code="double_booked",
            fields={"appointment_end": [_("Overlaps another booking.")]},
        ) from exc


def _transition_event(ctx: hooks.Ctx) -> WorkOrderEvent:
    actor = ctx.actor
    return WorkOrderEvent(
        work_order=ctx.work_order,
        action=ctx.transition.action,
        from_status=ctx.from_status,
        to_status=ctx.target,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_role=ctx.role,
        note=ctx.note,
        latitude=ctx.latitude,
        longitude=ctx.longitude,
        data=ctx.event_data,
        created_at=ctx.now,
    )


# A customer may move the visit while no technician is on the way yet.
