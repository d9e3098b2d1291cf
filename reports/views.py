"""The managers' reports: the KPI dashboard and the export of each of its tables."""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.db_router import read_from_replica
from core.errors import Forbidden
from core.permissions import require
from core.exports import FORMATS as EXPORT_FORMATS
from core.exports import export_response
from inventory.models import StockLocation
from workorders.lifecycle import Status

from . import selectors
from .forms import OWN_STAFF, DashboardFilterForm
from .selectors import BACKLOG_BUCKETS, STATUSES
from .tables import TABLES, WORK_ORDERS_MAX_DAYS, table


def manager_required(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        try:
            require(request.user, "reports.view")
        except Forbidden as error:
            return render(request, "core/error.html", {"error": error}, status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _charts_available() -> bool:
    """Whether chart.js is among the static files (config/settings.py adds it when npm ci has run)."""
    return any(isinstance(entry, tuple) and entry[0] == "chartjs" for entry in settings.STATICFILES_DIRS)


def _hours(seconds):
    return None if seconds is None else round(float(seconds) / 3600, 2)


def _chart_data(data) -> dict:
    """What the charts draw: the same figures as the tables beside them."""
    volume, summary = data["volume"], data["summary"]
    return {
        "statuses": [{"code": s, "label": str(Status(s).label)} for s in STATUSES],
        "daily": {"labels": [r["day"].isoformat() for r in volume.daily],
                  "series": {s: [r[s] for r in volume.daily] for s in STATUSES}},
        "weekly": {"labels": [r["day"].isoformat() for r in volume.weekly],
                   "series": {s: [r[s] for r in volume.weekly] for s in STATUSES}},
        "times": {
            "labels": [str(t["label"]) for t in summary.times],
            "business_avg": [_hours(t["business_avg"]) for t in summary.times],
            "business_p90": [_hours(t["business_p90"]) for t in summary.times],
            "clock_avg": [_hours(t["clock_avg"]) for t in summary.times],
            "clock_p90": [_hours(t["clock_p90"]) for t in summary.times],
        },
        "sla": {"labels": [str(r["label"]) for r in summary.sla],
                "met": [r["met"] for r in summary.sla], "missed": [r["missed"] for r in summary.sla]},
        "backlog": {"labels": [str(label) for _code, label, *_rest in BACKLOG_BUCKETS],
                    "counts": data["backlog"][-1]["buckets"]},
        "text": {"met": _("Met"), "missed": _("Missed"), "hours": _("hours"),
                 "business_avg": _("Average, business time"), "business_p90": _("90th percentile, business time"),
                 "clock_avg": _("Average, clock time"), "clock_p90": _("90th percentile, clock time"),
                 "open": _("Open orders")},
    }


@require_GET
@manager_required
@read_from_replica  # a long read: on the replica when there is a usable one
def dashboard(request):
    form = DashboardFilterForm.from_query(request.GET)
    context = {"form": form, "charts": _charts_available(), "own_staff": OWN_STAFF,
               "query": request.GET, "tables": TABLES}
    context.update(form.choices())
    if not form.is_valid():
        return render(request, "reports/dashboard.html", context, status=400)
    filters = form.filters()
    data = selectors.dashboard_kept(filters)
    context.update(data)
    context.update({
        "filters": filters,
        # The page's figures rendered once per figures kept (the template's {% cache %}: rendering
        # the tables took 35 of the page's 43 ms of CPU when the figures came from the cache).
        "figures_key": f"{selectors.dashboard_key(filters)}:{data['as_of'].timestamp()}",
        "figures_seconds": settings.REPORTS_DASHBOARD_CACHE_SECONDS,
        "export_query": "&".join(f"{k}={v}" for k, v in filters.query().items()),
        "chart_data": _chart_data(data),
        "backlog_buckets": BACKLOG_BUCKETS,
        "statuses": [(s, Status(s).label) for s in STATUSES],
        "backlog_total": data["backlog"][-1]["total"],
        "repeat_days": settings.REPEAT_FAILURE_DAYS,
        "repeat_dimensions": [("service_type", _("Service type")), ("technician", _("Technician")),
                              ("model", _("Equipment model"))],
    })
    return render(request, "reports/dashboard.html", context)


@require_GET
@manager_required
@read_from_replica
def costs(request):
    """Revenue, costs and gross margin per service type, technician and customer; stock at cost."""
    form = DashboardFilterForm.from_query(request.GET)
    context = {"form": form, "own_staff": OWN_STAFF, "query": request.GET}
    context.update(form.choices())
    if not form.is_valid():
        return render(request, "reports/costs.html", context, status=400)
    filters = form.filters()
    with selectors.tuned():
        data = selectors.costs(filters)
    kinds = dict(StockLocation.Kind.choices)
    for row in data["stock"]:
        row["kind_label"] = kinds.get(row["kind"], row["kind"])
    context.update({
        "filters": filters, "costs": data,
        "cost_tables": [
            ("service_type", _("By service type"), "costs-service-type", data["service_type"]),
            ("technician", _("By technician"), "costs-technician", data["technician"]),
            ("customer", _("By customer"), "costs-customer", data["customer"]),
        ],
        "export_query": "&".join(f"{k}={v}" for k, v in filters.query().items()),
    })
    return render(request, "reports/costs.html", context)


@require_GET
@manager_required
@read_from_replica
def export(request, name: str, fmt: str):
    if name not in TABLES or fmt not in EXPORT_FORMATS:
        raise Http404
    form = DashboardFilterForm.from_query(request.GET)
    if not form.is_valid():
        lines = [f"{form.fields[field].label if field in form.fields else field}: {' '.join(errors)}"
                 for field, errors in form.errors.items()]
        return HttpResponse("\n".join(lines), status=400, content_type="text/plain; charset=utf-8")
    filters = form.filters()
    days = (filters.date_to - filters.date_from).days + 1
    if name == "work-orders" and days > WORK_ORDERS_MAX_DAYS:
        # One row per order, built in this request: a year at a large company is a million rows.
        message = _("The work-orders export covers at most %(n)d days; choose a shorter range.") % {
            "n": WORK_ORDERS_MAX_DAYS}
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    with selectors.tuned():
        head, rows = table(name, filters)
    filename = f"report-{name}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.{fmt}"
    return export_response(fmt, filename=filename, title=name, head=head, rows=rows)
