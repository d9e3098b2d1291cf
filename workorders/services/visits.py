"""What the customer changes from the tracking link: the visit's window, and notes."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import roles as R
from core.errors import Conflict, InvalidInput, NotFound
from core.images import CleanImage
from technicians.models import Technician

from ..lifecycle import Status, technician_check
from ..messages import format_window, reschedule_event_add
from ..models import WorkOrder, WorkOrderEvent

from .create import _add_photos, _check_window

RESCHEDULE_STATES = frozenset({Status.NEW, Status.ASSIGNED, Status.ACCEPTED})


def visit_window(work_order: WorkOrder) -> tuple:
    """The visit's window as the customer sees it: the appointment once a technician has the
    order, else the preferred time (either may be (None, None))."""
    if work_order.technician_id:
        return work_order.appointment_start, work_order.appointment_end
    return work_order.preferred_start, work_order.preferred_end


def visit_window_version(work_order: WorkOrder) -> str:
    """What a reschedule form carries, to notice that the window moved since it was shown."""
    return "/".join(str(int(value.timestamp())) if value else "" for value in visit_window(work_order))


def workorder_reschedule(*, work_order_id: int, start, end, seen: str, actor=None,
                         actor_role: str = R.CUSTOMER, now=None) -> WorkOrder:
    """Move the visit of an order to the window ``start``-``end`` (the customer, from the tracking link).

    An assigned order keeps its technician and gets a new appointment, checked by dispatch's rules
    for re-assigning (shift, other bookings) with the order's and the technician's rows locked, in
    that order; an order still waiting for a technician gets a new preferred time. Refused
    (nothing changes): a technician already on the way, a window or a visit closer than
    ``SELF_SERVICE_CUTOFF_HOURS``, a window already taken, or ``seen`` (``visit_window_version``
    when the form was shown) no longer matching: someone moved the visit meanwhile, so of two
    reschedules at once one wins and the other is told. One ``reschedule`` event, and a message to
    the dispatchers through the outbox, in the same transaction.
    """
    _check_window(start, end, field="window")
    if start is None:
        message = _("Choose a time.")
        raise InvalidInput(message, fields={"window": [message]})
    now = now or timezone.now()
    cutoff = timedelta(hours=settings.SELF_SERVICE_CUTOFF_HOURS)
    if start < now + cutoff:
        message = _("That time is too soon: choose one at least %(hours)d hours ahead.") % {
            "hours": settings.SELF_SERVICE_CUTOFF_HOURS}
        raise InvalidInput(message, fields={"window": [message]})
    with transaction.atomic():
        work_order = WorkOrder.objects.select_for_update().filter(pk=work_order_id).first()
        if work_order is None:
            raise NotFound(_("No such work order."))
        if work_order.status not in RESCHEDULE_STATES:
            raise Conflict(_("This visit can no longer be moved here: please call us."), code="transition_not_allowed")
        if visit_window_version(work_order) != seen:
            raise Conflict(_("Your visit was changed meanwhile. Please look at the new time and choose again."),
                           code="stale")
        current_start, current_end = visit_window(work_order)
        if current_start is not None and current_start - cutoff < now:
            raise Conflict(
                _("Your visit is less than %(hours)d hours away and can no longer be moved here: please call us.")
                % {"hours": settings.SELF_SERVICE_CUTOFF_HOURS}, code="too_late")
        if (current_start, current_end) == (start, end):
            message = _("That is already the time of your visit.")
            raise InvalidInput(message, fields={"window": [message]})
        before = format_window(current_start, current_end)
        changed = ["updated_at"]
        technician = None
        if work_order.technician_id:
            # Locked after the order, as every path that takes both does (workorder_transition).
            technician = Technician.objects.select_for_update().filter(pk=work_order.technician_id).first()
            try:
                technician_check("reassign")(work_order=work_order, technician=technician,
                                             appointment_start=start, appointment_end=end, now=now)
            except (Conflict, InvalidInput) as exc:
                # The reasons name other orders and the technician's day: not for the customer.
                raise Conflict(_("That time is not free any more. Please choose another."),
                               code="window_taken", fields={"window": [str(exc.message)]}) from exc
            work_order.appointment_start, work_order.appointment_end = start, end
            changed += ["appointment_start", "appointment_end"]
        else:
            work_order.preferred_start, work_order.preferred_end = start, end
            changed += ["preferred_start", "preferred_end"]
        work_order.updated_at = now
        try:
            work_order.save(update_fields=changed)
        except IntegrityError as exc:
            if "wo_no_double_booking" not in str(exc):
                raise
            raise Conflict(_("That time is not free any more. Please choose another."), code="window_taken") from exc
        event = WorkOrderEvent(
            work_order=work_order, action="reschedule", from_status=work_order.status, to_status=work_order.status,
            actor=actor if actor is not None and actor.is_authenticated else None, actor_role=actor_role,
            data={"before": [_iso(current_start), _iso(current_end)], "after": [start.isoformat(), end.isoformat()]},
            created_at=now,
        )
        reschedule_event_add(event, work_order, before=before, technician=technician, now=now)
    return work_order


def _iso(value):
    return value.isoformat() if value is not None else None


NOTE_MAX = 4000


def workorder_add_note(*, work_order_id: int, note: str, actor=None, actor_role: str = R.CUSTOMER,
                       photos: list[CleanImage] = (), data: dict | None = None) -> WorkOrderEvent:
    """A note (and photos) added to an order without changing its state: the customer writing again
    about an open request, by email or on the form. One event (action ``note``), the photos, and
    the order's ``updated_at`` moved on (an integration syncing by ``updated_after`` sees it), in one
    transaction. The caller has already decided who may add to this order."""
    note = (note or "").strip()
    if not note and not photos:
        raise InvalidInput(_("Write a note or attach a photo."), fields={"note": [_("This field is required.")]})
    if len(note) > NOTE_MAX:
        message = _("Keep the note under %(n)d characters.") % {"n": NOTE_MAX}
        raise InvalidInput(message, fields={"note": [message]})
    if len(photos) > settings.PUBLIC_FORM_MAX_PHOTOS:
        message = _("Attach at most %(n)d photos.") % {"n": settings.PUBLIC_FORM_MAX_PHOTOS}
        raise InvalidInput(message, fields={"photos": [message]})
    now = timezone.now()
    with transaction.atomic():
        work_order = WorkOrder.objects.select_for_update().filter(pk=work_order_id).first()
        if work_order is None:
            raise NotFound(_("No such work order."))
        work_order.updated_at = now
        work_order.save(update_fields=["updated_at"])
        event = WorkOrderEvent.objects.create(
            work_order=work_order, action="note", from_status=work_order.status, to_status=work_order.status,
            actor=actor if actor is not None and actor.is_authenticated else None, actor_role=actor_role,
            note=note, data=data or {}, created_at=now,
        )
        _add_photos(work_order, photos)
    return event
