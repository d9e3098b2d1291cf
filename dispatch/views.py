"""The dispatch board: thin views over dispatch.selectors and the lifecycle service.

Only dispatchers, managers and superusers may use these pages; anyone else
who is logged in gets 403.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import threading
import uuid
from collections import OrderedDict
from functools import wraps

import orjson

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from catalog.selectors import service_type_parts
from core.errors import ApplicationError, Forbidden, InvalidInput
from core.choices import APPROXIMATE
from core.permissions import require
from customers.models import Site
from workorders.lifecycle import Status
from workorders.models import WorkOrder
from workorders.services import workorder_transition
from workorders.services import Assignment
from workorders.sla import target_states_rows

from . import selectors
from .api import DropSerializer, PlaceSerializer, drop_answer, place_answer
from .auto_assign import auto_assign_apply, auto_assign_plan, auto_assign_undo
from .rules import format_window
from .services import parse_window, workorder_drop, workorder_site_place

STATE_LABELS = {
    "off_shift": gettext_lazy("Off shift"),
    "available": gettext_lazy("Available"),
    "en_route": gettext_lazy("En route"),
    "on_site": gettext_lazy("On site"),
}


def dispatcher_required(view):
    """Logged in, and a dispatcher, a manager or a superuser; 403 for anyone else."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            require(request.user, "dispatch.use_board")
        except Forbidden as error:
            return render(request, "core/error.html", {"error": error}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


class QueueFilterForm(forms.Form):
    service_type = forms.TypedChoiceField(label=gettext_lazy("Service type"), required=False, coerce=int, empty_value=None)
    area = forms.ChoiceField(label=gettext_lazy("Area"), required=False)
    priority = forms.TypedChoiceField(
        label=gettext_lazy("Priority"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", gettext_lazy("Any"))] + [(v, label) for v, label in reversed(WorkOrder.Priority.choices)],
    )

    def __init__(self, *args, service_types=(), areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_type"].choices = [("", _("Any"))] + [(pk, name) for pk, name in service_types]
        self.fields["area"].choices = [("", _("Any"))] + [(a, a) for a in areas]


def _filters(request) -> dict:
    """The queue filters from the query string; a bad value is ignored, not an error page."""
    params = request.GET
    out = {"service_type_id": None, "city": "", "priority": None}
    try:
        out["service_type_id"] = int(params.get("service_type") or 0) or None
    except ValueError:
        pass
    try:
        priority = int(params.get("priority") or 0)
        out["priority"] = priority if priority in WorkOrder.Priority.values else None
    except ValueError:
        pass
    out["city"] = (params.get("area") or "").strip()[:80]
    return out


def _detail_url(pk: int) -> str:
    try:
        return reverse("staff:detail", args=[pk])
    except NoReverseMatch:
        return ""


# Stands for a work order's id in the link patterns sent to the browser.
ID_PLACEHOLDER = "987654321"


def _url_pattern(name: str) -> str:
    """The address of ``name`` for any id (ID_PLACEHOLDER marks where the id goes); '' if none."""
    try:
        return reverse(name, args=[int(ID_PLACEHOLDER)])
    except NoReverseMatch:
        return ""


def _hhmm(value, tz) -> str:
    local = value.astimezone(tz)
    return f"{local.hour:02d}:{local.minute:02d}"


def _window_label(start, end, tz) -> str:
    if start is None:
        return ""
    return _local_window(start, end, tz)


# The board's labels and times of its ~1,900 jobs, made again on every poll (every 10 s per
# dispatcher) from the same few thousand moments: kept per process by moment and zone (equal
# moments in any zone give the same text). Both together: 8 ms of CPU a poll at 500 technicians.
@functools.lru_cache(maxsize=8192)
def _local_window(start, end, tz) -> str:
    local, local_end = start.astimezone(tz), end.astimezone(tz)
    return (f"{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}–"
            f"{local_end.hour:02d}:{local_end.minute:02d}")


class _Ago:
    """'5 minutes' / '3 hours' / '2 days' since a moment, with each phrase translated once per request."""

    UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"))

    def __init__(self, now):
        self.now = now
        self.cache: dict[tuple[str, int], str] = {}

    def __call__(self, then) -> str:
        if then is None:
            return ""
        seconds = max(0, int((self.now - then).total_seconds()))
        for size, unit in self.UNITS:
            if seconds >= size or unit == "minute":
                count = seconds // size
                key = (unit, count)
                if key not in self.cache:
                    self.cache[key] = timesince(self.now - dt.timedelta(seconds=count * size), self.now, depth=1)
                return self.cache[key]
        return ""


def board_range(request) -> tuple[str, dt.date, int]:
    """(view, first day, number of days) from ``?view=day|3day|week&date=YYYY-MM-DD``; a bad or
    missing value means the day view of today."""
    view = request.GET.get("view", "day")
    if view not in selectors.BOARD_VIEWS:
        view = "day"
    try:
        day = dt.date.fromisoformat((request.GET.get("date") or "")[:10])
    except ValueError:
        day = timezone.localdate()
    first_day, days = selectors.board_range(day, view)
    return view, first_day, days


def _chosen_day(request, first_day: dt.date, days: int) -> dt.date:
    """The day the address asked for when it lies in the range shown (a week view opened on a
    Tuesday), else the range's first day: switching to another view keeps that day."""
    try:
        day = dt.date.fromisoformat((request.GET.get("date") or "")[:10])
    except ValueError:
        return first_day
    return day if first_day <= day < first_day + dt.timedelta(days=days) else first_day


def _iso(value, tz=None) -> str:
    """``value`` as an ISO string in the company's time zone (``tz``: that zone, looked up once by a
    caller that converts many: each lookup of the current zone costs more than the conversion)."""
    if value is None:
        return ""
    return _local_iso(value, tz or timezone.get_current_timezone())


@functools.lru_cache(maxsize=8192)  # see _local_window
def _local_iso(value, tz) -> str:
    return value.astimezone(tz).isoformat()


# Each technician's finished row of the board, kept per process by everything it is made from:
# the board builds 500 of them on every poll (every 10 s per dispatcher) and most stay the same
# from one poll to the next. Kept by the rows' common context (language, time zone, axis: the
# view and day shown) and, within it, by the technician's _technician_key and "where" words (the
# "seen 5 minutes ago" changes by the minute); each poll keeps only the rows it used, so a context
# holds one board's rows (about 3 MB at 500 technicians), for the BOARD_CONTEXTS_KEPT contexts
# used last. Measured at 532 technicians, 1,860 open jobs (bench/board_cpu.py on the bench
# database, CPU of the whole _board_payload, alternating): 71.1 and 73.6 ms with nothing kept
# (BOARD_CONTEXTS_KEPT = 0), 59.3 and 54.0 ms with the rows kept.
BOARD_CONTEXTS_KEPT = 4
_technician_rows: OrderedDict = OrderedDict()
_technician_rows_lock = threading.Lock()


def _technician_key(tech) -> tuple:
    """Everything of ``tech`` (a selectors.BoardTechnician) its row shows or is computed from."""
    facts = tech.facts
    return (
        facts.id, facts.name, facts.partner_name, tech.state, tech.position, tuple(tech.skills),
        tech.booked_minutes, None if tech.shifts is None else tuple(tech.shifts), tuple(tech.absences),
        tuple((t.start, t.end, t.km, t.tight, t.minutes) for t in tech.travel),
        tuple((r.day, tuple(r.booked), tuple(r.suggested), r.booked_minutes, r.suggested_minutes)
              for r in tech.routes),
        tuple((j.id, j.number, j.status, j.priority, j.start, j.end, j.service_type, j.version) for j in tech.jobs),
        tuple(j.id for j in tech.today_jobs),
    )


def _board_payload(request) -> tuple[dict, dict]:
    """What the board shows, as plain data, and the clock: ``(board, {"now", "now_iso"})``.

    The browser only places these strings (board.js); every word is chosen and
    translated here, so the page needs no language logic of its own. Times for
    the Gantt (``gantt``, gantt.js) are ISO strings in the company's time zone.

    The current time (``now``: where it falls on the axis, in percent, or None off the axis;
    ``now_iso``) is kept out of the board: board.json fingerprints the board, and a board that
    held the time of the request changed on every poll.
    """
    filters = _filters(request)
    view, first_day, days = board_range(request)
    board = selectors.dispatch_board(first_day=first_day, days=days, **filters)
    now = board.now
    first_hour, last_hour = settings.DISPATCH_TIMELINE_HOURS
    if days == 1:
        # Compared in UTC, the jobs' zone: times in two zones compare ten times slower.
        day_start, range_end = board.day_start.astimezone(dt.timezone.utc), board.range_end.astimezone(dt.timezone.utc)
        axis_start = day_start + dt.timedelta(hours=first_hour)
        axis_end = day_start + dt.timedelta(hours=last_hour)
        for tech in board.technicians:
            for job in tech.today_jobs:
                if job.start is not None:
                    axis_start = min(axis_start, max(job.start, day_start))
                    axis_end = max(axis_end, min(job.end, range_end))
    else:
        axis_start, axis_end = board.day_start, board.range_end
    t0, span = axis_start.timestamp(), (axis_end - axis_start).total_seconds() or 1.0

    def pct(value) -> float:
        return round(min(100.0, max(0.0, (value.timestamp() - t0) / span * 100.0)), 2)

    # Looked up once: on this path, per-row lookups of the time zone and of
    # translations are what would cost the most.
    tz = timezone.get_current_timezone()
    _ago = _Ago(now)
    priority_labels = {value: str(label) for value, label in WorkOrder.Priority.choices}
    status_labels = {value: str(label) for value, label in Status.choices}
    state_labels = {key: str(label) for key, label in STATE_LABELS.items()}
    any_time, no_appointment = _("any time"), _("no appointment")
    place_labels = {key: str(label) for key, label in PLACE_LABELS.items()}
    at_position = _("at %(lat).4f, %(lng).4f, seen %(ago)s ago")
    at_home = _("home base %(lat).4f, %(lng).4f")
    last_seen = _("last seen %(ago)s ago")
    unknown_position = _("position unknown")
    no_skills = _("no skills recorded")
    is_today = days == 1 and first_day == timezone.localdate(now)
    travel_minutes = _("drive about %(min)d min (%(km).1f km)")
    travel_unknown = _("travel")
    route_words = _("%(day)s: %(booked)d min of driving in this order")
    route_extra = _("%(extra)d min more than the suggested order %(stops)s")
    route_best = _("the shortest order we found")
    open_of = _("%(n)d/%(cap)d open")
    movable_states = frozenset((Status.ASSIGNED.value, Status.ACCEPTED.value))
    load_words: dict[int, str] = {}

    @functools.cache
    def jobs_words(n: int) -> str:
        return ngettext("%(n)d open job", "%(n)d open jobs", n) % {"n": n}
    # Links are built in the browser from the patterns in "links".
    queue = []
    sla = target_states_rows(board.queue, now=board.now) if board.queue and "sla_policy_id" in board.queue[0] else []
    for i, row in enumerate(board.queue):
        lat, lng = row["site__latitude"], row["site__longitude"]
        place = _place(row, lat, lng)
        queue.append(
            {
                "id": row["pk"],
                "number": row["number"],
                "priority": row["priority"],
                "priority_label": priority_labels.get(row["priority"], str(row["priority"])),
                "service": row["service_type__name"],
                "city": row["site__city"] or "",
                "address": row["address"][:60],
                "waited": _ago(row["created_at"]),
                "due": (_("respond by %(time)s") % {"time": row["due"].astimezone(tz).strftime("%m-%d %H:%M")})
                if row["due"]
                else "",
                "window": _window_label(row["preferred_start"], row["preferred_end"], tz) or any_time,
                # For a drop on the Gantt: the version the dispatcher saw, the length to book.
                "version": selectors.workorder_version(row["updated_at"], row["status"], row["technician_id"],
                                                       row["appointment_start"], row["appointment_end"]),
                "minutes": _booking_minutes(row),
                "pos": [float(lat), float(lng)] if lat is not None and lng is not None else None,
                # How exact the point is: "approx" points are drawn differently; "unknown": no point
                # (the address could not be placed), "pending": geocoding has not run yet.
                "place": place,
                "place_label": place_labels.get(place, ""),
                "area": row.get("site__location_area") or "",
                # SLA targets: state (on_track, at_risk, breached ...) and "First response: At risk · 20 min left".
                "sla": [
                    {"state": s.state, "text": f"{s.label}: {s.state_label}"
                     + ("" if s.state in ("met", "stopped") else f" · {s.duration_text}")}
                    for s in (sla[i] if sla else [])
                ],
            }
        )
    def technician_row(tech, where) -> dict:
        facts = tech.facts
        n_today = len(tech.today_jobs)
        if n_today not in load_words:
            load_words[n_today] = ngettext(
                "%(n)d job today, %(hours)s h booked", "%(n)d jobs today, %(hours)s h booked", n_today
            ) if is_today else ngettext(
                "%(n)d job in these days, %(hours)s h booked", "%(n)d jobs in these days, %(hours)s h booked", n_today
            )
        load = load_words[n_today] % {"n": n_today, "hours": f"{tech.booked_minutes / 60:.1f}"}
        load += " · " + open_of % {"n": len(tech.jobs), "cap": board.capacity}
        today_ids = {job.id for job in tech.today_jobs}
        # The suggested stop of each booked job on its day (nearest next from where they start).
        stops = {pk: n for route in tech.routes for n, pk in enumerate(route.suggested, 1)}
        numbers = {job.id: job.number for job in tech.jobs}
        routes = []
        for route in tech.routes:
            label = route_words % {"day": route.day.strftime("%m-%d"), "booked": round(route.booked_minutes)}
            if round(route.extra_minutes) >= 1:
                label += "; " + route_extra % {"extra": round(route.extra_minutes), "stops": " → ".join(
                    numbers[pk][-6:] for pk in route.suggested)}
            else:
                label += "; " + route_best
            routes.append({"date": route.day.isoformat(), "booked": route.booked, "suggested": route.suggested,
                           "booked_minutes": round(route.booked_minutes),
                           "suggested_minutes": round(route.suggested_minutes),
                           "extra_minutes": round(route.extra_minutes), "label": label})
        jobs = []
        for job in tech.jobs:
            movable = job.status in movable_states
            item = {
                "id": job.id,
                "number": job.number,
                "status": job.status,
                "status_label": status_labels.get(job.status, job.status),
                "priority": job.priority,
                "when": _window_label(job.start, job.end, tz) if job.start is not None else no_appointment,
                "service": job.service_type,
                "unassign": movable,
                # Only an assigned or accepted booking moves (re-assign); one under way stays put.
                "movable": movable,
                "version": job.version,
                "stop": stops.get(job.id),
            }
            if job.start is not None and job.id in today_ids:
                left = pct(job.start)
                item["bar"] = [left, max(round(pct(job.end) - left, 2), 0.8)]
                item["start"], item["end"] = _iso(job.start, tz), _iso(job.end, tz)
            jobs.append(item)
        return (
            {
                "id": facts.id,
                "name": facts.name,
                "partner": facts.partner_name,
                "state": tech.state,
                "state_label": state_labels[tech.state],
                "skills": " · ".join(f"{name} L{level}" for name, level in tech.skills) or no_skills,
                "load": load,
                "where": where,
                "pos": list(tech.position) if tech.position is not None else None,
                "all_day": tech.shifts is None,
                "bands": [[pct(a), round(pct(b) - pct(a), 2)] for a, b in (tech.shifts or []) if b > axis_start
                          and a < axis_end],
                "absent": [[pct(a), round(pct(b) - pct(a), 2)] for a, b in tech.absences],
                "shifts": [[_iso(a, tz), _iso(b, tz)] for a, b in (tech.shifts or [])],
                "absences": [[_iso(a, tz), _iso(b, tz)] for a, b in tech.absences],
                "travel": [
                    {"start": _iso(t.start, tz), "end": _iso(t.end, tz), "tight": t.tight,
                     "bar": [pct(t.start), round(pct(t.end) - pct(t.start), 2)],
                     "minutes": None if t.minutes is None else round(t.minutes),
                     "label": (travel_minutes % {"min": round(t.minutes), "km": t.km})
                     if t.minutes is not None else travel_unknown}
                    for t in tech.travel
                ],
                "routes": routes,
                "jobs": jobs,
                "jobs_label": jobs_words(len(jobs)),
            }
        )

    technicians = []
    # What every technician's row is made from besides the technician (see _technician_rows).
    context = (translation.get_language(), str(tz), t0, span, axis_start, axis_end, is_today, board.capacity)
    with _technician_rows_lock:
        kept = _technician_rows.get(context) or {}
    fresh = {}
    for tech in board.technicians:
        facts = tech.facts
        if tech.position_from == "last":
            where = at_position % {
                "lat": tech.position[0], "lng": tech.position[1], "ago": _ago(facts.last_seen_at)}
        elif tech.position_from == "home":
            where = at_home % {"lat": tech.position[0], "lng": tech.position[1]}
            if facts.last_seen_at:
                where += " · " + last_seen % {"ago": _ago(facts.last_seen_at)}
        else:
            where = unknown_position
        key = (where, _technician_key(tech))
        row = kept.get(key)
        if row is None:
            row = technician_row(tech, where)
        fresh[key] = row
        technicians.append(row)
    with _technician_rows_lock:
        _technician_rows[context] = fresh
        _technician_rows.move_to_end(context)
        while len(_technician_rows) > BOARD_CONTEXTS_KEPT:
            _technician_rows.popitem(last=False)
    hours = []
    if days == 1:
        step = dt.timedelta(hours=2) if (axis_end - axis_start) > dt.timedelta(hours=16) else dt.timedelta(hours=1)
        mark = timezone.localtime(axis_start).replace(minute=0, second=0, microsecond=0)
        if mark < axis_start:
            mark += dt.timedelta(hours=1)
        while mark <= axis_end:
            hours.append({"label": f"{mark:%H}", "left": pct(mark)})
            mark += step
    else:
        for i in range(days):
            day = first_day + dt.timedelta(days=i)
            mark = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
            hours.append({"label": _day_label(day), "left": pct(mark)})
    holidays = []
    for day, name in board.holidays:
        a = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        b = a + dt.timedelta(days=1)
        holidays.append({"date": day.isoformat(), "name": name or _("Holiday"), "start": _iso(a, tz),
                         "end": _iso(b, tz),
                         "bar": [pct(a), round(pct(b) - pct(a), 2)]})
    return {
        "queue": {
            "total": board.queue_total,
            "summary": ngettext("%(n)d work order waiting", "%(n)d work orders waiting", board.queue_total)
            % {"n": board.queue_total}
            + (
                " · " + _("the %(shown)d most urgent shown") % {"shown": len(queue)}
                if board.queue_total > len(queue)
                else ""
            ),
            "rows": queue,
        },
        "axis": {"hours": hours, "start": _iso(axis_start, tz), "end": _iso(axis_end, tz)},
        "range": {"view": view, "date": first_day.isoformat(), "days": days, "label": _range_label(first_day, days)},
        "holidays": holidays,
        "technicians": technicians,
        "links": {
            "placeholder": ID_PLACEHOLDER,
            "candidates": _url_pattern("dispatch:candidates"),
            "detail": _url_pattern("staff:detail"),
            "assign": _url_pattern("dispatch:assign"),
            "drop": _url_pattern("dispatch:drop"),
            "place": _url_pattern("dispatch:place"),
        },
    }, {"now": pct(now) if axis_start <= now <= axis_end else None, "now_iso": _iso(now, tz)}


PLACE_LABELS = {
    "unknown": gettext_lazy("location unknown"),
    "pending": gettext_lazy("locating…"),
    "approx": gettext_lazy("approximate location"),
}


def _place(row, lat, lng) -> str:
    """"exact" (typed in, found to the street, or placed by hand), "approx" (a division's centre),
    "pending" (not geocoded yet) or "unknown" (no point could be found)."""
    precision = row.get("site__location_precision") or ""
    if lat is None or lng is None:
        return "pending" if precision == Site.Precision.PENDING else "unknown"
    return "approx" if precision in APPROXIMATE else "exact"


def _booking_minutes(row) -> int:
    """How long a queue order dropped on the Gantt is booked for: the window the customer asked
    for, else its service type's default duration."""
    if row["preferred_start"] is not None and row["preferred_end"] is not None:
        minutes = int((row["preferred_end"] - row["preferred_start"]).total_seconds() // 60)
        if 0 < minutes <= 12 * 60:
            return minutes
    return row.get("service_type__default_duration_minutes") or 60


def _day_label(day: dt.date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day:%m-%d}"


def _range_label(first_day: dt.date, days: int) -> str:
    if days == 1:
        return f"{first_day:%Y-%m-%d} {WEEKDAYS[first_day.weekday()]}"
    last = first_day + dt.timedelta(days=days - 1)
    return f"{first_day:%Y-%m-%d} – {last:%Y-%m-%d}"


class _Weekdays:
    """Short weekday names, translated when read (Monday first)."""

    NAMES = (gettext_lazy("Mon"), gettext_lazy("Tue"), gettext_lazy("Wed"), gettext_lazy("Thu"),
             gettext_lazy("Fri"), gettext_lazy("Sat"), gettext_lazy("Sun"))

    def __getitem__(self, index: int) -> str:
        return str(self.NAMES[index])


WEEKDAYS = _Weekdays()


GANTT_WORDS = {
    "absent": gettext_lazy("Absent"),
    "saving": gettext_lazy("Saving…"),
    "refused": gettext_lazy("Not moved: %(reason)s"),
    "failed": gettext_lazy("The board could not be reached; nothing has changed."),
    "queue_hint": gettext_lazy("Drag onto a technician's row"),
}

BOARD_VIEW_LABELS = {"day": pgettext_lazy("board view", "Day"), "3day": gettext_lazy("3 days"), "week": gettext_lazy("Week")}


BOARD_WORDS = {
    "candidates": gettext_lazy("Candidates"),
    "reassign": gettext_lazy("Re-assign"),
    "unassign": gettext_lazy("Un-assign"),
    "nothing_waiting": gettext_lazy("Nothing is waiting for a technician."),
    "no_technicians": gettext_lazy("No active technicians."),
    "place_confirm": gettext_lazy("Put %(number)s here? Its site keeps this point for its next orders too."),
    "place_failed": gettext_lazy("The pin could not be moved: %(reason)s"),
    "approximate": gettext_lazy("approximate: the centre of its district or city; drag the pin to the exact place"),
}


@dispatcher_required
@require_GET
def board_page(request):
    """The board's frame: filters, the date navigation, the auto-assign button, empty panels that
    board.js fills from board.json (with the same ``view`` and ``date`` as the page's address)."""
    view, first_day, days = board_range(request)
    step = dt.timedelta(days=days)
    chosen = _chosen_day(request, first_day, days)

    def at(day, view_name=view) -> str:
        query = request.GET.copy()
        query["view"], query["date"] = view_name, day.isoformat()
        return "?" + query.urlencode()

    context = {
        "view": view,
        "date": first_day.isoformat(),
        "range_label": _range_label(first_day, days),
        "nav": {
            "previous": at(first_day - step),
            "next": at(first_day + step),
            "today": at(timezone.localdate()),
        },
        "views": [
            {"key": key, "label": str(label), "url": at(chosen, key), "current": key == view}
            for key, label in BOARD_VIEW_LABELS.items()
        ],
        "hidden_filters": [(k, v) for k, v in request.GET.items() if k not in ("view", "date")],
        "words": {key: str(value) for key, value in BOARD_WORDS.items()},
        "form": QueueFilterForm(
            request.GET or None, service_types=selectors.board_service_types(), areas=selectors.queue_areas()
        ),
        # As given: without a date the page follows today (a board left open overnight moves on).
        "filter_query": request.GET.urlencode(),
        "tile_url": settings.DISPATCH_TILE_URL,
        "tile_attribution": settings.DISPATCH_TILE_ATTRIBUTION,
        "map_center": list(settings.DISPATCH_MAP_CENTER),
        "refresh_seconds": settings.DISPATCH_REFRESH_SECONDS,
        # The Gantt library (vis-timeline, served from node_modules: config/settings.py); without it
        # the board's plain timeline is all there is, for reading.
        "gantt": _gantt_available(),
        "gantt_words": {key: str(value) for key, value in GANTT_WORDS.items()},
    }
    response = render(request, "dispatch/board.html", context)
    tiles = tile_source(settings.DISPATCH_TILE_URL)
    if tiles:
        # The map's tiles come from their own server: the one page that shows them allows it (django-csp).
        response._csp_update = {"img-src": [tiles]}
    return response


@functools.cache
def _gantt_available() -> bool:
    return bool(finders.find("vis-timeline/vis-timeline-graph2d.min.js"))


def tile_source(url: str) -> str:
    """The Content-Security-Policy source of a tile URL template: its scheme and host, a
    ``{s}`` (sub-domain) placeholder in the host as a wildcard; "" for no or a malformed URL.

    ``https://{s}.tile.example.com/{z}/{x}/{y}.png`` -> ``https://*.tile.example.com``
    """
    scheme, _sep, rest = (url or "").strip().partition("://")
    host = rest.split("/", 1)[0]
    if scheme not in ("http", "https") or not host:
        return ""
    host = re.sub(r"\{[^}]*\}", "*", host)
    if not re.fullmatch(r"(\*\.)?[A-Za-z0-9.-]+(:\d+)?", host):
        return ""
    return f"{scheme}://{host}"


@dispatcher_required
@require_GET
def board_data(request):
    """The board as data, for the page to refresh itself without a reload.

    ``?version=`` is the fingerprint the page has; when nothing changed, the
    answer is just ``{"changed": false}``. Either answer carries the current time beside it
    (``now``: percent of the axis or null, ``now_iso``), outside the fingerprint, so the
    now-line moves on while the board stays the same.
    """
    payload, clock = _board_payload(request)
    # orjson: the board is about a megabyte at 500 technicians, which the standard encoder took
    # 50-90 ms to write; anything it does not know (lazy translations, times) as Django's encoder has it.
    body = orjson.dumps(payload, default=_DJANGO_JSON.default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    version = hashlib.sha1(body).hexdigest()[:16]
    if request.GET.get("version") == version:
        return JsonResponse({"changed": False, "version": version, **clock})
    return HttpResponse(
        b'{"changed": true, "version": "%s", %s, "board": %s}' % (version.encode(), orjson.dumps(clock)[1:-1], body),
        content_type="application/json",
    )


_DJANGO_JSON = DjangoJSONEncoder()


def _local_input(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else ""


def _back(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return fallback


@dispatcher_required
@require_GET
def candidates_page(request, pk: int):
    work_order = selectors.workorder_for_dispatch(pk)
    if work_order is None:
        raise Http404(_("No such work order."))
    params = request.GET
    window = None
    error = None
    if "start" in params or "end" in params:
        try:
            start, end = parse_window(params.get("start"), params.get("end"))
        except ApplicationError as exc:
            error, start, end = exc.message, None, None
        if start is not None and end <= start:
            error, start, end = _("The end of the time window must be after its start."), None, None
    else:
        start = work_order.appointment_start or work_order.preferred_start
        end = work_order.appointment_end or work_order.preferred_end
    if start is not None:
        window = (start, end)
    eligible, excluded = selectors.workorder_candidates(work_order=work_order, window=window)
    required = {}
    if eligible or excluded:
        from .selectors import required_skills

        required = required_skills([work_order.service_type_id]).get(work_order.service_type_id, {})
    for candidate in eligible:
        levels = candidate.parts["skill_levels"]
        candidate.skill_rows = [
            {"name": name, "level": levels.get(str(skill_id), [0, 0])[0], "min": min_level}
            for skill_id, (min_level, name) in sorted(required.items(), key=lambda item: item[1][1])
        ]
    can_assign = work_order.status in (Status.NEW, Status.ASSIGNED, Status.ACCEPTED)
    context = {
        "wo": work_order,
        "detail_url": _detail_url(work_order.pk),
        "eligible": eligible,
        "excluded": excluded,
        "start": _local_input(start),
        "end": _local_input(end),
        "window_error": error,
        "required": sorted(required.values(), key=lambda r: r[1]),
        "action": "assign" if work_order.status == Status.NEW else "reassign",
        "can_assign": can_assign,
        "can_unassign": work_order.status in (Status.ASSIGNED, Status.ACCEPTED),
        "capacity": settings.DISPATCH_CAPACITY,
        "next": _back(request, reverse("dispatch:board")),
        "parts_needed": service_type_parts(work_order.service_type_id),
    }
    return render(request, "dispatch/candidates.html", context)


@dispatcher_required
@require_POST
def assign_action(request, pk: int):
    """Assign, re-assign or un-assign from the board or the candidates page."""
    action = request.POST.get("action", "")
    back = _back(request, reverse("dispatch:board"))
    if action not in ("assign", "reassign", "unassign"):
        messages.error(request, _("Unknown action."))
        return redirect(back)
    try:
        technician_id = None
        start = end = None
        if action != "unassign":
            try:
                technician_id = int(request.POST.get("technician") or 0) or None
            except ValueError:
                technician_id = None
            start, end = parse_window(request.POST.get("appointment_start"), request.POST.get("appointment_end"))
        work_order = workorder_transition(
            work_order_id=pk,
            action=action,
            actor=request.user,
            note=request.POST.get("note", ""),
            technician_id=technician_id,
            appointment_start=start,
            appointment_end=end,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        if request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse(exc.as_dict(), status=exc.status_code)
        return redirect(back)
    if action == "unassign":
        text = _("%(number)s is back in the queue.") % {"number": work_order.number}
    else:
        text = _("%(number)s assigned to %(tech)s.") % {"number": work_order.number, "tech": work_order.technician}
    messages.success(request, text)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"ok": True, "detail": text})
    return redirect(back)


# The runs a dispatcher accepted, in their session, for the result page and its undo (the newest few).
AUTO_RUNS_KEY = "dispatch_auto_assign_runs"
AUTO_RUNS_KEPT = 5
# One accepted proposal as the preview posts it: work order, technician, window start and end (Unix
# seconds, both empty without a window).
PICK = re.compile(r"^([0-9]{1,18}),([0-9]{1,18}),([0-9]{0,10}),([0-9]{0,10})$")
MAX_PICKS = 5000


def _picks(values: list[str]) -> list[Assignment]:
    """The proposals the dispatcher kept; InvalidInput (nothing written) if one cannot be read."""
    if len(values) > MAX_PICKS:
        raise InvalidInput(_("Accept at most %(n)d assignments at once.") % {"n": MAX_PICKS})
    picks = []
    for value in values:
        match = PICK.match(value)
        if match is None or bool(match[3]) != bool(match[4]):
            raise InvalidInput(_("The selection could not be read; open the preview again."))
        try:
            start, end = (dt.datetime.fromtimestamp(int(x), tz=dt.timezone.utc) if x else None
                          for x in match.groups()[2:])
        except (ValueError, OverflowError, OSError) as exc:
            raise InvalidInput(_("The selection could not be read; open the preview again.")) from exc
        picks.append(Assignment(work_order_id=int(match[1]), technician_id=int(match[2]),
                                appointment_start=start, appointment_end=end))
    return picks


@dispatcher_required
def auto_assign_page(request):
    """GET: what automatic assignment proposes now, and what it would leave out and why; nothing
    changes. POST: write the proposals the dispatcher kept."""
    if request.method == "POST":
        return _auto_assign_accept(request)
    plan = auto_assign_plan()
    context = {"plan": plan, "capacity": settings.DISPATCH_CAPACITY, "undo_minutes": settings.DISPATCH_UNDO_MINUTES,
               "priorities": WorkOrder.Priority.choices}
    return render(request, "dispatch/auto_assign.html", context)


def _auto_assign_accept(request):
    values = request.POST.getlist("pick")
    if not values:
        messages.info(request, _("Nothing was selected; nothing has changed."))
        return redirect("dispatch:board")
    try:
        picks = _picks(values)
        batch = uuid.uuid4().hex[:16]
        result = auto_assign_apply(assignments=picks, actor=request.user, batch=batch)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect("dispatch:auto-assign")
    windows = {p.work_order_id: p for p in picks}
    runs = request.session.get(AUTO_RUNS_KEY, {})
    runs[batch] = {
        "at": timezone.now().isoformat(),
        "assigned": [
            {"work_order": item["work_order"], "number": item["number"], "technician_name": item["technician_name"],
             "window": _window_text(windows[item["work_order"]])}
            for item in result.assigned
        ],
        "refused": [{"number": item["number"], "reason": str(item["reason"])} for item in result.conflicts],
        "undone": [],
    }
    request.session[AUTO_RUNS_KEY] = dict(sorted(runs.items(), key=lambda kv: kv[1]["at"])[-AUTO_RUNS_KEPT:])
    messages.success(request, ngettext("%(n)d work order assigned.", "%(n)d work orders assigned.",
                                       len(result.assigned)) % {"n": len(result.assigned)})
    return redirect("dispatch:auto-assign-run", batch=batch)


def _window_text(pick: Assignment) -> str:
    if pick.appointment_start is None:
        return ""
    return format_window(pick.appointment_start, pick.appointment_end)


def _run_or_404(request, batch):
    run = request.session.get(AUTO_RUNS_KEY, {}).get(batch)
    if run is None:
        raise Http404(_("No such automatic assignment in this session."))
    return run


@dispatcher_required
@require_GET
def auto_assign_run_page(request, batch):
    """One accepted run: what was assigned, what was refused, and the undo while it is allowed."""
    run = _run_or_404(request, batch)
    until = dt.datetime.fromisoformat(run["at"]) + dt.timedelta(minutes=settings.DISPATCH_UNDO_MINUTES)
    undone = set(run["undone"])
    context = {
        "batch": batch,
        "run": run,
        "assigned": [dict(item, undone=item["work_order"] in undone) for item in run["assigned"]],
        "undo_until": until,
        "can_undo": timezone.now() < until and any(item["work_order"] not in undone for item in run["assigned"]),
    }
    return render(request, "dispatch/auto_assign_run.html", context)


@dispatcher_required
@require_POST
def auto_assign_undo_action(request, batch):
    run = _run_or_404(request, batch)
    ours = {item["work_order"] for item in run["assigned"]}
    ids = [int(v) for v in request.POST.getlist("work_order") if re.fullmatch(r"[0-9]{1,18}", v) and int(v) in ours]
    if not ids:
        messages.info(request, _("Nothing was selected; nothing has changed."))
        return redirect("dispatch:auto-assign-run", batch=batch)
    result = auto_assign_undo(batch=batch, work_order_ids=ids, actor=request.user)
    if result.undone:
        run["undone"] = sorted(set(run["undone"]) | {item["work_order"] for item in result.undone})
        request.session.modified = True
        messages.success(request, ngettext("%(n)d work order is back in the queue.",
                                           "%(n)d work orders are back in the queue.",
                                           len(result.undone)) % {"n": len(result.undone)})
    for item in result.refused:
        messages.warning(request, f"{item['number']}: {item['reason']}")
    return redirect("dispatch:auto-assign-run", batch=batch)


def _board_json(request, serializer_class):
    """A JSON action of the board: ``(validated data, None)``, or ``(None, the refusal)``: 403 for a
    user who is not a dispatcher or manager, 400 for a body that is not a JSON object or fails the
    serializer (``detail`` and ``fields`` in the user's language)."""
    try:
        require(request.user, "dispatch.use_board")
    except Forbidden as error:
        return None, JsonResponse(error.as_dict(), status=403)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return None, JsonResponse(InvalidInput(_("The request could not be read.")).as_dict(), status=400)
    serializer = serializer_class(data=body)
    if not serializer.is_valid():
        fields = {key: [str(m) for m in messages_] for key, messages_ in serializer.errors.items()}
        error = InvalidInput(" ".join(m for ms in fields.values() for m in ms), fields=fields)
        return None, JsonResponse(error.as_dict(), status=400)
    return serializer.validated_data, None


@require_POST
def drop_action(request, pk: int):
    """A drop on the board's Gantt (gantt.js), as JSON: ``{"technician", "start", "end", "version"}``.

    The same service as the buttons (dispatch.services.workorder_drop -> the lifecycle transition).
    Answers JSON: 200 with the order's new place and version; 400 bad input, 403 not a dispatcher,
    404 no such order (or one the user may not see), 409 refused (double booking, capacity, or the
    order changed since the board showed it), each with ``detail``, a sentence in the user's language.
    Nothing changes on any error. Django's CSRF check applies (the page sends its token).
    """
    data, refused = _board_json(request, DropSerializer)
    if refused is not None:
        return refused
    day = timezone.localdate(data["start"]) if data.get("start") is not None else None
    before = selectors.technician_day_route(technician_id=data["technician"], day=day) if day else None
    try:
        work_order, action = workorder_drop(
            work_order_id=pk, technician_id=data["technician"], start=data["start"], end=data["end"],
            seen_version=data["version"], actor=request.user,
        )
    except ApplicationError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    answer = drop_answer(work_order, action)
    if action:
        answer["detail"] = _("%(number)s booked for %(tech)s, %(window)s.") % {
            "number": work_order.number, "tech": work_order.technician,
            "window": format_window(work_order.appointment_start, work_order.appointment_end)}
        after = selectors.technician_day_route(technician_id=data["technician"], day=day)
        if before is not None and after is not None:
            # What the new order of the technician's day costs in driving (dispatch.travel).
            added = round(after.booked_minutes - before.booked_minutes)
            answer["travel"] = {"minutes": round(after.booked_minutes), "added_minutes": added,
                                "suggested_minutes": round(after.suggested_minutes)}
            if len(after.booked) > 1:
                answer["detail"] += " " + _("Driving that day: %(total)d min (%(added)+d min).") % {
                    "total": round(after.booked_minutes), "added": added}
    else:
        answer["detail"] = _("Nothing has changed.")
    return JsonResponse(answer)


@require_POST
def place_action(request, pk: int):
    """The dispatcher dragged an order's pin on the board's map (board.js), as JSON: ``{"latitude",
    "longitude"}``. Its site is placed there as "manual" (``dispatch.services.workorder_site_place``).

    Answers JSON: 200 with the stored point; 400 bad input or a point outside the region, 403 not a
    dispatcher, 404 no such order. Nothing changes on any error. Django's CSRF check applies.
    """
    data, refused = _board_json(request, PlaceSerializer)
    if refused is not None:
        return refused
    try:
        work_order, site = workorder_site_place(
            work_order_id=pk, latitude=data["latitude"], longitude=data["longitude"], actor=request.user
        )
    except ApplicationError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    answer = place_answer(work_order, site)
    answer["detail"] = _("%(number)s: the site is now placed where you put the pin; its next orders start there.") % {
        "number": work_order.number}
    return JsonResponse(answer)
