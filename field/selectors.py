"""Reads for the technicians' mobile pages: my jobs and the job page.

Each function issues a fixed number of queries however many jobs, events or
earlier visits there are.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import F, Prefetch
from django.utils import timezone

from workorders.lifecycle import OPEN_STATES
from workorders.models import Attachment, CompletionReport, WorkOrder, WorkOrderEvent
from workorders.selectors import workorder_visible_to

HISTORY_LIMIT = 10


def technician_of(user):
    """The technician profile of ``user``, or None."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.technician
    except Exception:  # RelatedObjectDoesNotExist: no technician profile
        return None


@dataclass
class JobList:
    today: list
    upcoming: list
    sent_back: list


def tech_job_list(*, technician, now=None) -> JobList:
    """The technician's open jobs in appointment order, split into today (and anything overdue or
    unscheduled) and upcoming days; and their reports a manager sent back."""
    now = now or timezone.now()
    end_of_today = timezone.make_aware(datetime.combine(timezone.localdate(now) + timedelta(days=1), time.min))
    jobs = list(
        WorkOrder.objects.filter(technician=technician, status__in=OPEN_STATES)
        .select_related("customer", "site", "service_type")
        .order_by(F("appointment_start").asc(nulls_last=True), "-priority", "id")
    )
    today = [job for job in jobs if job.appointment_start is None or job.appointment_start < end_of_today]
    upcoming = [job for job in jobs if job.appointment_start is not None and job.appointment_start >= end_of_today]
    sent_back = list(
        CompletionReport.objects.filter(technician=technician, review_status=CompletionReport.Review.SENT_BACK)
        .select_related("work_order__customer", "work_order__service_type")
        .order_by("-reviewed_at", "-id")[:20]
    )
    return JobList(today, upcoming, sent_back)


def tech_job_detail(*, user, pk: int) -> WorkOrder | None:
    """One work order for the job page, if ``user`` may see it (404 otherwise)."""
    return (
        workorder_visible_to(user)
        .select_related("customer", "site", "equipment", "service_type", "technician__user",
                        "follow_up_of_report__work_order")
        .prefetch_related(
            Prefetch("events", queryset=WorkOrderEvent.objects.select_related("actor").order_by("id")),
            Prefetch(
                "attachments",
                queryset=Attachment.objects.filter(kind=Attachment.Kind.CUSTOMER_PHOTO).order_by("id"),
                to_attr="customer_photos",
            ),
        )
        .filter(pk=pk)
        .first()
    )


def equipment_history(*, work_order: WorkOrder, limit: int = HISTORY_LIMIT) -> list[WorkOrder]:
    """Earlier work orders on the same equipment (its serial number is unique), newest first,
    each with its completion reports."""
    if work_order.equipment_id is None:
        return []
    return list(
        WorkOrder.objects.filter(equipment_id=work_order.equipment_id, created_at__lte=work_order.created_at)
        .exclude(pk=work_order.pk)
        .select_related("service_type", "technician__user")
        .prefetch_related(
            Prefetch(
                "completion_reports",
                queryset=CompletionReport.objects.only("id", "work_order_id", "work_done", "created_at")
                .order_by("-id"),
                to_attr="reports",
            )
        )
        .order_by("-created_at", "-id")[:limit]
    )


def tech_latest_report(*, work_order: WorkOrder) -> CompletionReport | None:
    """The newest completion report of the job (review state and comment), without its lines."""
    return (
        CompletionReport.objects.filter(work_order=work_order)
        .select_related("follow_up_work_order", "reviewed_by")
        .order_by("-id")
        .first()
    )
