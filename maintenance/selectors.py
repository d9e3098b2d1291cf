"""What the plan calendar reads: visits per week for a quarter, and one week's visits."""

from datetime import date, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncWeek

from workorders.lifecycle import Status

from .models import PlanVisit

DONE = [Status.RESOLVED, Status.FOLLOW_UP, Status.CLOSED]
WEEK_ROWS = 200


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def visits_by_week(*, start: date, weeks: int) -> list[dict]:
    """Each week from the Monday ``start`` (one query): visits, done, cancelled, still open."""
    end = start + timedelta(weeks=weeks)
    rows = {
        r["week"]: r for r in
        PlanVisit.objects.filter(scheduled_on__gte=start, scheduled_on__lt=end)
        .annotate(week=TruncWeek("scheduled_on")).values("week")
        .annotate(total=Count("id"), done=Count("id", filter=Q(work_order__status__in=DONE)),
                  cancelled=Count("id", filter=Q(work_order__status=Status.CANCELLED)))
    }
    out = []
    for i in range(weeks):
        week = start + timedelta(weeks=i)
        r = rows.get(week, {})
        total, done, cancelled = r.get("total", 0), r.get("done", 0), r.get("cancelled", 0)
        out.append({"week": week, "total": total, "done": done, "cancelled": cancelled,
                    "open": total - done - cancelled})
    return out


def week_visits(*, week: date, limit: int = WEEK_ROWS) -> tuple[list[PlanVisit], int]:
    """The visits of the week starting on ``week`` (at most ``limit``), by day, and how many there are."""
    qs = PlanVisit.objects.filter(scheduled_on__gte=week, scheduled_on__lt=week + timedelta(days=7))
    visits = list(
        qs.select_related("plan__customer", "plan__equipment", "plan__service_type", "work_order__technician__user",
                          "plan__preferred_technician__user")
        .order_by("scheduled_on", "plan__name", "id")[:limit]
    )
    total = len(visits) if len(visits) < limit else qs.count()
    return visits, total
