"""Reads of completion reports: for the job page, the review queue and the PDF."""

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When

from workorders.lifecycle import Status
from workorders.models import WorkOrder
from workorders.selectors import workorder_visible_to

from .models import CompletionReport, ReportPhoto

REPORT_RELATED = ("work_order__service_type", "work_order__customer", "technician__user", "signature", "reviewed_by")


def _with_lines(qs: QuerySet) -> QuerySet:
    return qs.select_related(*REPORT_RELATED).prefetch_related(
        "answers",
        "parts",
        Prefetch("photos", queryset=ReportPhoto.objects.select_related("attachment")),
    )


def completion_report_latest(*, work_order: WorkOrder) -> CompletionReport | None:
    """The newest report of a work order (a reopened order may have had an earlier one)."""
    return _with_lines(CompletionReport.objects.filter(work_order=work_order)).order_by("-id").first()


def completion_report_for_user(*, user, work_order_id: int) -> CompletionReport | None:
    """The newest report of a work order that ``user`` may see."""
    return (
        _with_lines(CompletionReport.objects.filter(work_order_id=work_order_id,
                                                    work_order__in=workorder_visible_to(user)))
        .order_by("-id")
        .first()
    )


def completion_report_detail(*, pk: int) -> CompletionReport | None:
    return _with_lines(CompletionReport.objects.filter(pk=pk)).first()


def completion_review_queue(*, review_status: str = CompletionReport.Review.PENDING, limit: int = 100) -> list:
    """Reports in one review state for the managers' queue: those whose order waits for the approval
    first (still resolved: a review, or parts approval, holds it), then those whose service type asks
    for a review, then the oldest first (they have waited longest). A report of a type without a
    review stays pending for good once its order has moved on; it must not hide one that holds an order."""
    waiting = Case(When(work_order__status=Status.RESOLVED, then=Value(1)), default=Value(0),
                   output_field=IntegerField())
    qs = (
        CompletionReport.objects.filter(review_status=review_status)
        .select_related("work_order__service_type", "work_order__customer", "technician__user")
        .annotate(waiting=waiting)
        .order_by("-waiting", "-work_order__service_type__requires_review", "id")
    )
    if review_status != CompletionReport.Review.PENDING:
        qs = qs.order_by("-id")
    return list(qs[:limit])


def completion_report_for_token(*, token: str) -> CompletionReport | None:
    """The newest report of the work order behind a customer's tracking link."""
    if not token or len(token) > 64:
        return None
    return _with_lines(CompletionReport.objects.filter(work_order__public_token=token)).order_by("-id").first()


def workorder_customer_description(*, work_order: WorkOrder, max_depth: int = 10) -> tuple[str, str]:
    """What the customer asked for, in their own words, and the number of the visit this one follows
    ("" when it follows none), for the customer's pages.

    A second visit's own description starts with the technician's reason for it (an internal
    note); the customer's words are those of the first order of the chain.
    """
    origin, follows = work_order, ""
    for _depth in range(max_depth):
        earlier = CompletionReport.objects.filter(follow_up_work_order=origin).select_related("work_order").first()
        if earlier is None:
            break
        origin = earlier.work_order
        follows = follows or origin.number
    return origin.description, follows


def workorder_customer_page_part(*, work_order: WorkOrder) -> dict:
    """What completion adds to the customer's tracking page (``workorders.selectors.register_customer_page_part``).

    A second visit's own description opens with the technician's reason: the customer sees
    their words instead. The signed service report is offered once the job was completed.
    """
    description, follows = workorder_customer_description(work_order=work_order)
    return {
        "description": description,
        "follows": follows,
        "has_report": work_order.resolved_at is not None and work_order.completion_reports.exists(),
    }


# --- Service history: visits to a piece of equipment, a customer's charges ---------------------------

# A visit's report as the history shows it: what was done, by whom, at what cost, its parts and photos.
VISIT_REPORT_FIELDS = (
    "id", "work_order_id", "technician_id", "work_done", "labour_minutes", "labour_amount", "parts_amount",
    "total_amount", "created_at", "needs_second_visit", "second_visit_reason",
)


def _visit_reports() -> Prefetch:
    return Prefetch(
        "completion_reports",
        queryset=CompletionReport.objects.only(*VISIT_REPORT_FIELDS)
        .select_related("technician__user")
        .prefetch_related("parts", Prefetch("photos", queryset=ReportPhoto.objects.only("id", "report_id",
                                                                                          "attachment_id")))
        .order_by("-id"),
        to_attr="reports",
    )


def equipment_visits(*, equipment_id: int, before: WorkOrder | None = None, limit: int | None = None) -> list:
    """The work orders on a piece of equipment, newest first, each with ``reports`` (its completion
    reports, newest first, with their technician, ``parts`` and ``photos``), its service type and its
    technician. ``before``: only orders created before it (the job page's earlier visits). Five
    queries however many visits, reports, parts and photos."""
    qs = WorkOrder.objects.filter(equipment_id=equipment_id)
    if before is not None:
        qs = qs.filter(created_at__lte=before.created_at).exclude(pk=before.pk)
    qs = (
        qs.select_related("service_type", "technician__user")
        .prefetch_related(_visit_reports())
        .order_by("-created_at", "-id")
    )
    return list(qs[:limit] if limit else qs)


def customer_reports(*, customer_id: int, limit: int = 500) -> list[CompletionReport]:
    """The completion reports of a customer's orders, newest first, with their ``parts`` (what was
    charged and used, for the customer page): two queries."""
    return list(
        CompletionReport.objects.filter(work_order__customer_id=customer_id)
        .only(*VISIT_REPORT_FIELDS)
        .prefetch_related("parts")
        .order_by("-created_at", "-id")[:limit]
    )
