"""The satisfaction survey (满意度回访): sent on follow-up, answered once, closes the order.

- ``workorder_send_survey``: resolved -> follow_up (the service type's review, where
  it asks for one, calls this after approval); the follow_up transition starts the
  survey (``survey_start``) and texts the customer the link.
- ``survey_answer``: a good answer closes the order as the customer; a low one
  (satisfaction at most 2, or not solved) keeps it in follow_up, flags a manager's
  call-back and tells the managers.
- ``survey_record_callback``: the manager's call, then close or reopen.
- ``survey_send_reminders`` and ``survey_expire_due``: the periodic sweep: one
  reminder after 48 hours without an answer; an unanswered survey that expires
  closes the order by itself.

Locks are taken survey row first, then the work order (inside
``workorder_transition``), everywhere, so two of these never deadlock.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import roles as R
from core.errors import Conflict, InvalidInput, NotFound
from core.permissions import require
from notifications.services import notifications_add, to_roles, with_messages_add

from .lifecycle import Status
from .messages import absolute_url, customer_language, survey_webhooks, to_customer
from .models import Survey, WorkOrder, WorkOrderEvent

logger = logging.getLogger(__name__)

COMMENT_MAX = 2000


def survey_link(survey: Survey) -> str:
    return absolute_url(f"/survey/{survey.token}/")


def workorder_send_survey(*, work_order_id: int, actor=None, actor_role: str | None = None) -> WorkOrder:
    """Move a resolved order to follow-up and send the customer the survey.

    Called automatically on resolve when the service type needs no review, and by
    the review (issue 4) once a manager approves the report.
    """
    from .services import workorder_transition

    if actor is None and actor_role is None:
        actor_role = R.SYSTEM
    return workorder_transition(work_order_id=work_order_id, action="follow_up", actor=actor, actor_role=actor_role)


def workorder_move_on(*, work_order_id: int, flow, actor=None, actor_role: str | None = None) -> WorkOrder:
    """A resolved order moves on as its service type's ``flow`` says: to follow-up (the survey,
    ``workorder_send_survey``), or, with no follow-up, closed (no survey is sent). Called when the
    order is resolved with no review to wait for, and by the review once a manager approves."""
    from .services import workorder_transition

    if flow.follow_up:
        return workorder_send_survey(work_order_id=work_order_id, actor=actor, actor_role=actor_role)
    if actor is None and actor_role is None:
        actor_role = R.SYSTEM
    return workorder_transition(work_order_id=work_order_id, action="close", actor=actor, actor_role=actor_role,
                                note=_("Closed once resolved: this service type has no follow-up."))


def survey_start(*, work_order: WorkOrder, now=None) -> Survey:
    """Create the survey and text its link (inside the follow_up transition's transaction)."""
    now = now or timezone.now()
    # A reopened and resolved again order gets a new survey; the old link stops working.
    Survey.objects.filter(work_order=work_order, status=Survey.State.OPEN).update(status=Survey.State.VOID)
    survey = Survey(
        work_order=work_order, language=customer_language(work_order), created_at=now,
        expires_at=now + timedelta(days=settings.SURVEY_VALID_DAYS),
    )
    rows = []
    if settings.OUTBOX_WRITE_ENABLED:  # (off only in bench/outbox_throughput.py)
        # The token is made when the survey is, so the link is known before it is saved.
        rows = to_customer(work_order, template="survey_invite", now=now, payload={
            "link": survey_link(survey), "days": settings.SURVEY_VALID_DAYS,
        })
    with_messages_add(survey, rows)  # the survey and its invitation, in one statement
    return survey


def survey_void_open(*, work_order: WorkOrder) -> None:
    """A reopened order: its open survey link stops working (a new one comes on the next follow-up)."""
    Survey.objects.filter(work_order=work_order, status=Survey.State.OPEN).update(status=Survey.State.VOID)


def survey_for_token(token: str) -> Survey | None:
    if not token or len(token) > 64:
        return None
    return Survey.objects.select_related("work_order").filter(token=token).first()


def survey_state(survey: Survey, *, now=None) -> str:
    """open, answered, expired (also: replaced by a newer survey, which reads as expired)."""
    now = now or timezone.now()
    if survey.status == Survey.State.ANSWERED:
        return "answered"
    if survey.status in (Survey.State.EXPIRED, Survey.State.VOID) or now >= survey.expires_at:
        return "expired"
    return "open"


def _parse_int(value, *, field: str, low: int, high: int, required: bool) -> int | None:
    if value in (None, ""):
        if required:
            raise InvalidInput(_("Please answer this question."), fields={field: [_("This field is required.")]})
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        message = _("Choose a number from %(low)d to %(high)d.") % {"low": low, "high": high}
        raise InvalidInput(message, fields={field: [message]})
    return number


def survey_answer(*, token: str, satisfaction, solved, recommend=None, comment: str = "", now=None) -> Survey:
    """Record the customer's one answer; close the order on a good one, flag a call-back on a low one."""
    from .services import workorder_transition

    satisfaction = _parse_int(satisfaction, field="satisfaction", low=1, high=5, required=True)
    recommend = _parse_int(recommend, field="recommend", low=0, high=10, required=False)
    if solved not in (True, False):
        raise InvalidInput(_("Please tell us whether the problem was solved."),
                           fields={"solved": [_("This field is required.")]})
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        message = _("Keep the comment under %(n)d characters.") % {"n": COMMENT_MAX}
        raise InvalidInput(message, fields={"comment": [message]})
    now = now or timezone.now()

    with transaction.atomic():
        survey = Survey.objects.select_for_update().filter(token=token).first() if token else None
        if survey is None:
            raise NotFound(_("This survey link is not valid."))
        state = survey_state(survey, now=now)
        if state == "answered":
            raise Conflict(_("We already have your answer. Thank you!"), code="survey_answered")
        if state == "expired":
            raise Conflict(_("This survey link has expired."), code="survey_expired")
        work_order = WorkOrder.objects.select_related("customer").get(pk=survey.work_order_id)
        survey.status = Survey.State.ANSWERED
        survey.answered_at = now
        survey.satisfaction, survey.solved, survey.recommend, survey.comment = satisfaction, solved, recommend, comment
        # A call-back only makes sense while the order waits in follow-up.
        survey.needs_callback = survey.is_low and work_order.status == Status.FOLLOW_UP
        survey.save(update_fields=["status", "answered_at", "satisfaction", "solved", "recommend", "comment",
                                   "needs_callback"])
        answer = {"survey": survey.pk, "satisfaction": satisfaction, "solved": solved, "recommend": recommend}
        WorkOrderEvent.objects.create(
            work_order=work_order, action="survey", from_status=work_order.status, to_status=work_order.status,
            actor_role=R.CUSTOMER, note=comment, data={**answer, "callback": survey.needs_callback}, created_at=now,
        )
        notifications_add(survey_webhooks(survey, work_order))
        if survey.needs_callback:
            notifications_add(to_roles([R.MANAGER], template="survey_low", subject_id=work_order.pk, webhook=True,
                                       now=now, payload={
                                           "number": work_order.number, "satisfaction": satisfaction,
                                           "solved": solved, "comment": comment[:300] or "-",
                                           "link": absolute_url("/staff/escalations/"),
                                       }))
        elif work_order.status == Status.FOLLOW_UP:
            workorder_transition(work_order_id=work_order.pk, action="close", actor_role=R.CUSTOMER,
                                 note=_("Closed by the customer's survey answer."), data=answer)
    return survey


def survey_record_callback(*, survey_id: int, actor, note: str, outcome: str) -> Survey:
    """A manager called the customer back after a low answer; then the order closes or reopens."""
    from .services import workorder_transition

    require(actor, "workorders.record_callback")
    if outcome not in Survey.Outcome.values:
        raise InvalidInput(_("Choose close or reopen."), fields={"outcome": [_("Choose close or reopen.")]})
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("Write down what the customer said."), fields={"note": [_("This field is required.")]})
    with transaction.atomic():
        survey = Survey.objects.select_for_update().filter(pk=survey_id).first()
        if survey is None:
            raise NotFound(_("No such survey."))
        if not survey.needs_callback or survey.callback_at is not None:
            raise Conflict(_("This survey does not wait for a call-back."))
        survey.callback_at = timezone.now()
        survey.callback_by = actor
        survey.callback_note = note[:COMMENT_MAX]
        survey.callback_outcome = outcome
        survey.save(update_fields=["callback_at", "callback_by", "callback_note", "callback_outcome"])
        workorder_transition(work_order_id=survey.work_order_id, action=outcome, actor=actor, actor_role=R.MANAGER,
                             note=note, data={"survey": survey.pk, "callback": True})
    return survey


def survey_send_reminders(*, now=None, batch: int = 200) -> int:
    """One reminder to customers who have not answered after SURVEY_REMINDER_HOURS."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.SURVEY_REMINDER_HOURS)
    ids = list(
        Survey.objects.filter(status=Survey.State.OPEN, reminder_sent_at__isnull=True, created_at__lte=cutoff,
                              expires_at__gt=now)
        .order_by("created_at").values_list("id", flat=True)[:batch]
    )
    sent = 0
    for survey_id in ids:
        with transaction.atomic():
            # Claim: only one sweep sends the reminder, and none after an answer.
            if not Survey.objects.filter(pk=survey_id, status=Survey.State.OPEN, reminder_sent_at__isnull=True).update(
                reminder_sent_at=now
            ):
                continue
            survey = Survey.objects.select_related("work_order__customer").get(pk=survey_id)
            if survey.work_order.status != Status.FOLLOW_UP:
                continue
            notifications_add(to_customer(survey.work_order, template="survey_reminder", now=now,
                                          dedupe_key=f"survey-reminder:{survey.pk}",
                                          payload={"link": survey_link(survey)}))
            sent += 1
    return sent


def survey_expire_due(*, now=None, batch: int = 200) -> int:
    """Unanswered surveys past their expiry: the order closes by itself."""
    from .services import workorder_transition

    now = now or timezone.now()
    ids = list(Survey.objects.filter(status=Survey.State.OPEN, expires_at__lte=now)
               .order_by("expires_at").values_list("id", flat=True)[:batch])
    closed = 0
    for survey_id in ids:
        with transaction.atomic():
            survey = Survey.objects.select_for_update(skip_locked=True).filter(
                pk=survey_id, status=Survey.State.OPEN).first()
            if survey is None:
                continue  # answered meanwhile, or another sweep has it
            survey.status = Survey.State.EXPIRED
            survey.save(update_fields=["status"])
            if WorkOrder.objects.filter(pk=survey.work_order_id, status=Status.FOLLOW_UP).exists():
                workorder_transition(work_order_id=survey.work_order_id, action="close", actor_role=R.SYSTEM,
                                     note=_("Closed automatically: the survey expired without an answer."),
                                     data={"survey": survey.pk, "expired": True})
                closed += 1
    return closed


def surveys_awaiting_callback():
    """Low answers no manager has called back yet, oldest first."""
    return (Survey.objects.filter(needs_callback=True, callback_at__isnull=True)
            .select_related("work_order__customer").order_by("answered_at"))
