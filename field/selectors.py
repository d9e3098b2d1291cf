"""Reads for the technicians' mobile pages: my jobs and the job page.

Each function issues a fixed number of queries however many jobs, events or
earlier visits there are.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import F, Prefetch
from django.utils import timezone

from completion.models import CompletionReport
from completion.selectors import equipment_visits
from workorders.history import repeat_failure_of
from workorders.lifecycle import OPEN_STATES, Status
from workorders.models import Attachment, WorkOrder, WorkOrderEvent
from workorders.selectors import workorder_visible_to

# The job page shows the last three visits to the same equipment.
HISTORY_LIMIT = 3


# Jobs under way stay in today's list whatever their booked day: the technician is on them now.
UNDER_WAY = frozenset({Status.EN_ROUTE, Status.IN_PROGRESS})


@dataclass
class JobList:
    """The technician's open jobs by day, in the company's time zone. Each job carries
    ``overdue`` (its window has passed and it is not under way) and ``other_day`` (its booked day
    is not today, so the page shows the date)."""

    today_date: date
    overdue: list
    today: list
    tomorrow: list
    later: list
    sent_back: list


def _day_of(job, today: date, now) -> str:
    if job.status in UNDER_WAY or job.appointment_start is None:
        return "today"
    if (job.appointment_end or job.appointment_start) < now:
        return "overdue"
    day = timezone.localdate(job.appointment_start)
    if day <= today:
        return "today"
    return "tomorrow" if day == today + timedelta(days=1) else "later"


def tech_job_list(*, technician, now=None) -> JobList:
    """The technician's open jobs in appointment order, grouped into overdue (the booked window has
    passed), today (with jobs under way and jobs without a time), tomorrow and later days; and their
    reports a manager sent back."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    jobs = list(
        WorkOrder.objects.filter(technician=technician, status__in=OPEN_STATES)
        .select_related("customer", "site", "service_type")
        .order_by(F("appointment_start").asc(nulls_last=True), "-priority", "id")
    )
    groups = {"overdue": [], "today": [], "tomorrow": [], "later": []}
    for job in jobs:
        group = _day_of(job, today, now)
        job.overdue = group == "overdue"
        job.other_day = job.appointment_start is not None and timezone.localdate(job.appointment_start) != today
        groups[group].append(job)
    sent_back = list(
        CompletionReport.objects.filter(technician=technician, review_status=CompletionReport.Review.SENT_BACK)
        .select_related("work_order__customer", "work_order__service_type")
        .order_by("-reviewed_at", "-id")[:20]
    )
    return JobList(today_date=today, sent_back=sent_back, **groups)


def early_departure(work_order: WorkOrder, *, now=None) -> timedelta | None:
    """How long before its booked window a departure now would be, when that is more than
    ``FIELD_EARLY_DEPARTURE_MINUTES``; None when the job has no window or leaving now is fine."""
    if work_order.appointment_start is None:
        return None
    ahead = work_order.appointment_start - (now or timezone.now())
    if ahead > timedelta(minutes=settings.FIELD_EARLY_DEPARTURE_MINUTES):
        return ahead
    return None


def tech_job_detail(*, user, pk: int, history: bool = True) -> WorkOrder | None:
    """One work order for the job page, if ``user`` may see it (404 otherwise). ``history``: with
    its events and the customer's photos (two more queries; a completion being submitted needs
    neither)."""
    qs = (
        workorder_visible_to(user)
        .select_related("customer", "site", "equipment", "service_type", "technician__user",
                        "follow_up_of_report__work_order")
    )
    if history:
        qs = qs.prefetch_related(
            Prefetch("events", queryset=WorkOrderEvent.objects.select_related("actor").order_by("id")),
            Prefetch(
                "attachments",
                queryset=Attachment.objects.filter(kind=Attachment.Kind.CUSTOMER_PHOTO).order_by("id"),
                to_attr="customer_photos",
            ),
        )
    return qs.filter(pk=pk).first()


def tech_job_state(*, user, pk: int) -> dict | None:
    """``{"technician_id", "status"}`` of a work order ``user`` may see, or None (one query)."""
    return workorder_visible_to(user).filter(pk=pk).values("technician_id", "status").first()


def equipment_history(*, work_order: WorkOrder, limit: int = HISTORY_LIMIT) -> list[WorkOrder]:
    """The last ``limit`` earlier work orders on the same equipment (its serial number is unique),
    newest first, each with ``reports``: what was done, by which technician, with which parts
    (completion.selectors.equipment_visits)."""
    if work_order.equipment_id is None:
        return []
    return equipment_visits(equipment_id=work_order.equipment_id, before=work_order, limit=limit)


def repeat_failure(*, work_order: WorkOrder) -> WorkOrder | None:
    """The completed order on the same equipment that makes this job a repeat failure
    (workorders.history; ``REPEAT_FAILURE_DAYS``), or None."""
    return repeat_failure_of(work_order)


def tech_latest_report(*, work_order: WorkOrder) -> CompletionReport | None:
    """The newest completion report of the job (review state and comment), without its lines."""
    return (
        CompletionReport.objects.filter(work_order=work_order)
        .select_related("follow_up_work_order", "reviewed_by")
        .order_by("-id")
        .first()
    )
