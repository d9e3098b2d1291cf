"""The dashboard's tables as plain (headers, rows), shared by the page's exports (CSV, XLSX).

The figures in them are the database's (``reports.selectors``); this module only
picks columns and turns seconds into hours for people reading a spreadsheet.
"""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from catalog.custom_fields import custom_value_export
from catalog.selectors import custom_fields_all, custom_fields_of, service_types_by_pk
from core.choices import Priority
from inventory.models import StockLocation
from workorders.selectors import technician_refs

from . import selectors
from .forms import Filters
from .selectors import BACKLOG_BUCKETS, STATUSES

DASHBOARD_TABLES = ("status", "daily", "weekly", "times", "sla", "quality", "maintenance", "backlog", "leaderboard",
                    "work-orders")
COSTS_TABLES = ("costs-service-type", "costs-technician", "costs-customer", "stock-value")  # the costs page's
TABLES = DASHBOARD_TABLES + COSTS_TABLES
_COST_TABLES = {"costs-service-type": ("service_type", _lazy("Service type")),
                "costs-technician": ("technician", _lazy("Technician")),
                "costs-customer": ("customer", _lazy("Customer"))}


def _hours(seconds):
    return None if seconds is None else round(float(seconds) / 3600, 2)


def _num(value):
    """Decimals from the database as plain floats for a spreadsheet (None stays empty)."""
    return None if value is None else float(value)


def _custom_columns(f: Filters) -> list:
    """The custom fields the work-orders export has a column for: the filtered service type's, else
    every type's; one column per key (a key two types share is one column), in the types' order."""
    if f.service_type_id:
        fields = list(custom_fields_of(f.service_type_id))
    else:
        by_type = custom_fields_all()
        types = sorted(service_types_by_pk(by_type).values(), key=lambda st: (st.name, st.pk))
        fields = [field for st in types for field in by_type.get(st.pk, ())]
    columns, seen = [], set()
    for field in fields:
        if field.key not in seen:
            seen.add(field.key)
            columns.append(field)
    return columns


# The work-orders export (one row per order) covers at most this many days: it is built in the request.
WORK_ORDERS_MAX_DAYS = 92


def _work_orders(f: Filters) -> tuple[list[str], list[list]]:
    from workorders.lifecycle import Status

    columns = _custom_columns(f)
    labels = [str(field.label) for field in columns]
    head = [_("Work order"), _("Created"), _("Status"), _("Priority"), _("Service type"), _("Customer"),
            _("Technician")]
    head += [label if labels.count(label) == 1 else f"{label} ({field.key})" for label, field in zip(labels, columns)]
    rows = selectors.work_orders(f)
    types = service_types_by_pk({r["service_type_id"] for r in rows})
    technicians = technician_refs({r["technician_id"] for r in rows if r["technician_id"] is not None})
    fields_of = {}
    out = []
    for r in rows:
        created = timezone.localtime(r["created_at"])
        type_id = r["service_type_id"]
        if type_id not in fields_of:  # the order's own type's field of each key (how to show its value)
            fields_of[type_id] = {field.key: field for field in custom_fields_of(type_id)}
        own = fields_of[type_id]
        technician = technicians.get(r["technician_id"]) if r["technician_id"] is not None else None
        custom = r["custom"] or {}
        out.append([
            f"WO-{created.year}-{r['id']:06d}", created.replace(tzinfo=None), str(Status(r["status"]).label),
            str(Priority(r["priority"]).label), types[type_id].name if type_id in types else "", r["customer"],
            technician.name if technician else "",
            *[custom_value_export(own.get(field.key, field), custom.get(field.key)) for field in columns],
        ])
    return head, out


def table(name: str, f: Filters) -> tuple[list[str], list[list]]:
    from workorders.lifecycle import Status

    if name == "status":
        v = selectors.volume(f)
        return [_("Status"), _("Work orders")], [[str(r["label"]), r["count"]] for r in v.by_status]
    if name in ("daily", "weekly"):
        v = selectors.volume(f)
        rows = v.daily if name == "daily" else v.weekly
        head = [_("Day") if name == "daily" else _("Week (Monday)"), _("Total")]
        head += [str(Status(s).label) for s in STATUSES]
        return head, [[r["day"], r["total"], *[r[s] for s in STATUSES]] for r in rows]
    if name == "times":
        s = selectors.summary(f)
        head = [_("Interval"), _("Orders"), _("Average, business hours"), _("90th percentile, business hours"),
                _("Average, clock hours"), _("90th percentile, clock hours")]
        return head, [
            [str(t["label"]), t["clock_n"], _hours(t["business_avg"]), _hours(t["business_p90"]),
             _hours(t["clock_avg"]), _hours(t["clock_p90"])]
            for t in s.times
        ]
    if name == "sla":
        s = selectors.summary(f)
        head = [_("Target"), _("Met"), _("Missed"), _("Compliance %")]
        return head, [[str(r["label"]), r["met"], r["missed"], _num(r["compliance"])] for r in s.sla]
    if name == "quality":
        q = selectors.summary(f).quality
        return [_("Measure"), _("Value")], [
            [_("Resolved orders"), q["resolved"]],
            [_("Fixed the first time"), q["first_time_fixed"]],
            [_("First-time fix rate %"), _num(q["first_time_fix_rate"])],
            [_("Second visits needed"), q["second_visits"]],
            [_("Reopened within 14 days"), q["reopened"]],
            [_("Survey answers"), q["answers"]],
            [_("Average satisfaction (1–5)"), _num(q["satisfaction_avg"])],
            [_("Recommendation answers"), q["recommend_answers"]],
            [_("Promoters (9–10)"), q["promoters"]],
            [_("Passives (7–8)"), q["passives"]],
            [_("Detractors (0–6)"), q["detractors"]],
            [_("NPS"), _num(q["nps"])],
        ]
    if name == "maintenance":
        m = selectors.summary(f).maintenance
        return [_("Measure"), _("Value")], [
            [_("Planned visits due"), m["due"]],
            [_("Done on time"), m["on_time"]],
            [_("Maintenance compliance %"), _num(m["compliance"])],
        ]
    if name == "backlog":
        head = [_("Status"), _("Open")] + [str(label) for _code, label, *_rest in BACKLOG_BUCKETS]
        return head, [[str(r["label"]), r["total"], *r["buckets"]] for r in selectors.backlog(f)]
    if name == "leaderboard":
        rows, _total = selectors.leaderboard(f, limit=None)
        head = [_("Technician"), _("Partner company"), _("Completed jobs"), _("Fixed the first time"),
                _("First-time fix rate %"), _("Average satisfaction"), _("Survey answers"), _("Booked hours"),
                _("Shift hours"), _("Utilisation %")]
        return head, [
            [r["name"], r["partner"] or "", r["completed"], r["first_time_fixed"], _num(r["first_time_fix_rate"]),
             _num(r["satisfaction_avg"]), r["answers"], _num(r["booked_hours"]), _num(r["shift_hours"]),
             _num(r["utilisation"])]
            for r in rows
        ]
    if name in _COST_TABLES:
        group, label = _COST_TABLES[name]
        head = [str(label), _("Jobs"), _("Revenue"), _("Parts cost"), _("Labour cost"), _("Travel cost"),
                _("Cost"), _("Gross margin"), _("Margin %")]
        return head, [
            [r["label"], r["jobs"], _num(r["revenue"]), _num(r["parts_cost"]), _num(r["labour_cost"]),
             _num(r["travel_cost"]), _num(r["cost"]), _num(r["margin"]), _num(r["margin_rate"])]
            for r in selectors.costs(f, limit=None)[group]
        ]
    if name == "work-orders":
        return _work_orders(f)
    if name == "stock-value":
        head = [_("Stock location"), _("Code"), _("Kind"), _("Units on hand"), _("Value at cost")]
        kinds = dict(StockLocation.Kind.choices)
        return head, [[r["name"], r["code"], str(kinds.get(r["kind"], r["kind"])), _num(r["units"]), _num(r["value"])]
                      for r in selectors.costs(f, limit=0)["stock"]]
    raise KeyError(name)
