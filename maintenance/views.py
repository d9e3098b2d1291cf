"""The plan calendar: the planned visits of the coming weeks, for managers and dispatchers."""

from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.errors import Forbidden
from core.permissions import require

from . import selectors

WEEKS = 13  # a quarter


def _week(value: str | None) -> date | None:
    try:
        return selectors.monday(date.fromisoformat(value)) if value else None
    except ValueError:
        return None


@require_GET
@login_required
def plan_calendar(request):
    try:
        require(request.user, "maintenance.view_calendar")
    except Forbidden as error:
        return render(request, "core/error.html", {"error": error}, status=403)
    this_week = selectors.monday(timezone.localdate())
    start = _week(request.GET.get("from")) or this_week
    bad_input = bool(request.GET.get("from")) and _week(request.GET.get("from")) is None
    weeks = selectors.visits_by_week(start=start, weeks=WEEKS)
    week = _week(request.GET.get("week"))
    if week is None or not start <= week < start + timedelta(weeks=WEEKS):
        week = start
    visits, total = selectors.week_visits(week=week)
    return render(request, "maintenance/calendar.html", {
        "start": start, "weeks": weeks, "week": week, "visits": visits, "total": total,
        "shown": len(visits), "bad_input": bad_input, "this_week": this_week,
        "previous": start - timedelta(weeks=WEEKS), "next": start + timedelta(weeks=WEEKS),
        "week_end": week + timedelta(days=6),
    })
