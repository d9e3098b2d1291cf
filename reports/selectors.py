"""The dashboard's figures, each an aggregate computed by PostgreSQL over ``WorkOrderFact``.

Five queries make the whole page, however many orders there are: summary (times,
SLA, quality), the 90th percentiles, volume (status, per day, per week), backlog,
leaderboard (with utilisation from shifts and booked windows), and the repeat visits.
Python only shapes the rows the database returns into tables; it never averages anything,
and adds up only the repeat visits' cells (per service type, technician and model, counted
by PostgreSQL in one query) into their three tables.

Who counts: orders *created* in the date range (local days, ``created_day``) that
match the filters. The backlog is the exception: it is the open orders now,
whatever their creation date (the other filters apply). See docs/reports.md.
"""

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Count, F, OuterRef, Subquery, When
from django.utils import timezone
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core import roles as R
from core.db_router import reading_connection
from customers.models import Customer, Equipment
from inventory.selectors import stock_value_by_location
from maintenance.models import PlanVisit
from technicians.models import PartnerCompany, Shift, Technician
from catalog.selectors import service_types_by_pk
from workorders.history import repeat_failure_exists
from workorders.lifecycle import OPEN_STATES, Status
from completion.models import CompletionReport
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.selectors import technician_refs

from .forms import DEFAULT_DAYS, OWN_STAFF, Filters
from .models import DayRollup, WorkOrderFact
from .rollup import DURATIONS, TARGETS

logger = logging.getLogger(__name__)

STATUSES = list(Status.values)
OPEN = [s for s in STATUSES if s in OPEN_STATES]  # in lifecycle order
# (code, label, lower bound in days, upper bound in days or None)
BACKLOG_BUCKETS = [
    ("lt1d", _("Under 1 day"), 0, 1),
    ("1to3d", _("1–3 days"), 1, 3),
    ("3to7d", _("3–7 days"), 3, 7),
    ("7to14d", _("7–14 days"), 7, 14),
    ("14to30d", _("14–30 days"), 14, 30),
    ("gt30d", _("Over 30 days"), 30, None),
]
TARGET_LABELS = {
    "first_response": _("First response"),
    "arrival": _("Arrival"),
    "resolution": _("Resolution"),
}
# A booked window is found by its start; none is longer than this (see the leaderboard query).
MAX_BOOKING = timedelta(days=7)
LEADERBOARD_ROWS = 100


@contextmanager
def tuned():
    """Run the dashboard's queries in one transaction with settings that suit them.

    - ``jit = off``: each query takes a few hundred milliseconds at most; compiling it
      (PostgreSQL's default above a cost of 100,000) costs 100 ms or more by itself.
    - ``work_mem``: a small cohort's percentiles sort in memory (the default 4 MB spills
      a sort of a few hundred thousand values to temporary files).
    - no parallel workers: starting them costs more than they save on queries this short,
      and on a busy web server they take the cores other requests need (measured:
      bench/reports_bench.py, slower with them under load).
    - one snapshot (REPEATABLE READ) when the transaction is ours: the page's figures then
      agree with each other (the percentiles' ranks use the summary's counts) even while
      orders move.

    On the read replica inside ``core.db_router.replica_reads()`` (the dashboard's views), the
    primary otherwise.
    """
    db = reading_connection()
    outermost = not db.in_atomic_block
    with transaction.atomic(using=db.alias):
        with db.cursor() as cursor:
            cursor.execute(
                ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY; " if outermost else "")
                + "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; SET LOCAL max_parallel_workers_per_gather = 0"
            )
        yield


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _rows(sql: str, params) -> list[dict]:
    with reading_connection().cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _where(f: Filters, *, dates: bool = True, technician_column: str = "f.technician_id",
           prefix: str = "w") -> tuple[str, dict]:
    """The WHERE clause for the filters over the fact table aliased ``f`` (named parameters)."""
    parts, params = [], {}
    if dates:
        parts.append(f"f.created_day BETWEEN %({prefix}_from)s AND %({prefix}_to)s")
        params.update({f"{prefix}_from": f.date_from, f"{prefix}_to": f.date_to})
    if f.service_type_id:
        parts.append(f"f.service_type_id = %({prefix}_st)s")
        params[f"{prefix}_st"] = f.service_type_id
    if f.technician_id:
        parts.append(f"{technician_column} = %({prefix}_tech)s")
        params[f"{prefix}_tech"] = f.technician_id
    if f.partner == OWN_STAFF:
        parts.append(f"{technician_column} IN (SELECT id FROM {_t(Technician)} WHERE partner_company_id IS NULL)")
    elif f.partner:
        parts.append(
            f"{technician_column} IN (SELECT id FROM {_t(Technician)} WHERE partner_company_id = %({prefix}_pc)s)"
        )
        params[f"{prefix}_pc"] = f.partner
    return (" AND ".join(parts) or "TRUE"), params


def _range_bounds(f: Filters) -> tuple[datetime, datetime]:
    """The range as aware datetimes: local midnight of the first day, local midnight after the last."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(f.date_from, time.min), tz)
    end = timezone.make_aware(datetime.combine(f.date_to + timedelta(days=1), time.min), tz)
    return start, end


def rollup_grain(f: Filters) -> int | None:
    """Which day rollup serves these filters (reports/rollup.py), or None: the summary rows.

    Per service type for all orders or one service type; per technician for a technician or a
    partner (the technician's partner, as on the rows). Both a service type and a technician or
    partner: the rows (a small cohort, found by the index on technician and day)."""
    if f.technician_id or f.partner:
        return None if f.service_type_id else DayRollup.BY_TECHNICIAN
    return DayRollup.BY_TYPE


def _rollup_where(f: Filters, grain: int, prefix: str = "w") -> tuple[str, dict]:
    """The WHERE clause for the filters over the rollup table aliased ``f`` (its columns are named
    as the summary rows' are), in ``grain``."""
    where, params = _where(f, prefix=prefix)
    params[f"{prefix}_grain"] = grain
    return f"f.grain = %({prefix}_grain)s AND {where}", params


# --- Summary: times, SLA compliance, first-time fix, satisfaction ----------------------------


def _summary_sql(where: str) -> str:
    # Every column read here (and the filters' columns) is in the index report_fact_summary
    # (migration reports/0002): the query reads that index alone. A column added here
    # belongs there too, or PostgreSQL goes back to visiting every row of the cohort.
    measures = []
    for target in TARGETS:
        for kind in ("clock", "business"):
            col = f"f.{target}_{kind}_s"
            measures += [
                f"count({col}) AS {target}_{kind}_n",
                f"round(avg({col}), 1) AS {target}_{kind}_avg",
            ]
        measures += [
            f"count(*) FILTER (WHERE f.{target}_met) AS {target}_met",
            # Missed: met late, or still open with its deadline passed.
            f"count(*) FILTER (WHERE NOT f.{target}_met OR (f.{target}_met IS NULL AND f.{target}_due < %(now)s))"
            f" AS {target}_missed",
        ]
    return f"""
SELECT count(*) AS total,
       {", ".join(measures)},
       count(f.first_time_fix) AS resolved,
       count(*) FILTER (WHERE f.first_time_fix) AS first_time_fixed,
       count(*) FILTER (WHERE f.second_visit) AS second_visits,
       count(*) FILTER (WHERE f.reopened) AS reopened,
       count(f.satisfaction) AS answers,
       avg(f.satisfaction) AS satisfaction_avg,
       count(f.recommend) AS recommend_answers,
       count(*) FILTER (WHERE f.recommend >= 9) AS promoters,
       count(*) FILTER (WHERE f.recommend BETWEEN 7 AND 8) AS passives,
       count(*) FILTER (WHERE f.recommend <= 6) AS detractors
FROM {_t(WorkOrderFact)} f
WHERE {where}
"""


def _summary_rollup_sql(rollup_where: str, rows_where: str) -> str:
    """The summary from the day rollups: the same columns as ``_summary_sql``, each a sum of the
    rollup's counts and sums (an average is sum ÷ count, as ``avg`` computes it). A target missed
    by an order still open, its deadline passed by now, depends on the moment the page is read:
    those are counted from the summary rows whose target is still open (the partial index
    report_fact_sla_open, migration reports/0005: a tenth of the cohort at most)."""
    measures, overdue, missed = [], [], []
    for target in TARGETS:
        for kind in ("clock", "business"):
            base = f"{target}_{kind}"
            measures += [
                f"coalesce(sum(f.{base}_n), 0)::bigint AS {base}_n",
                f"round(sum(f.{base}_sum)::numeric / nullif(sum(f.{base}_n), 0), 1) AS {base}_avg",
            ]
        measures += [f"coalesce(sum(f.{target}_met), 0)::bigint AS {target}_met",
                     f"coalesce(sum(f.{target}_late), 0)::bigint AS {target}_late"]
        overdue.append(
            f"count(*) FILTER (WHERE f.{target}_met IS NULL AND f.{target}_due < %(now)s) AS {target}_overdue"
        )
        missed.append(f"r.{target}_late + p.{target}_overdue AS {target}_missed")
    for name in ("resolved", "first_time_fixed", "second_visits", "reopened", "answers", "recommend_answers",
                 "promoters", "passives", "detractors"):
        measures.append(f"coalesce(sum(f.{name}), 0)::bigint AS {name}")
    open_sla = " OR ".join(f"(f.{t}_met IS NULL AND f.{t}_due IS NOT NULL)" for t in TARGETS)
    return f"""
SELECT r.*, {", ".join(missed)}
FROM (SELECT coalesce(sum(f.orders), 0)::bigint AS total, {", ".join(measures)},
             sum(f.satisfaction_sum)::numeric / nullif(sum(f.answers), 0) AS satisfaction_avg
      FROM {_t(DayRollup)} f WHERE {rollup_where}) r,
     (SELECT {", ".join(overdue)} FROM {_t(WorkOrderFact)} f WHERE ({open_sla}) AND {rows_where}) p
"""


# The 90th percentiles. percentile_cont sorts every value of the cohort, six times over
# (three intervals, clock and business): for a 90-day range of a million orders that is
# most of the page's time. Each duration column has an index in value order that also
# carries the filter columns (reports/models.py), so PostgreSQL can instead walk it from
# the largest value down, skipping rows outside the cohort, to the two values either side
# of the 90th percentile's rank, and interpolate exactly as percentile_cont does:
#     k = 0.9 × (n − 1) in float8;  p90 = v[floor k] + (k − floor k) × (v[ceil k] − v[floor k])
# where v is in ascending order and n is the cohort's count from the summary query. The
# walk passes about a tenth of the whole index (the values above the cohort's 90th
# percentile), whatever the range, so it is used for large cohorts; small ones sort.
P90 = 0.9
WALK_FROM = 20_000


def _p90s(f: Filters, counts: dict) -> dict:
    """{column: 90th percentile} for the six duration columns, given their counts in the cohort."""
    where, params = _where(f)
    parts, small = [], []
    for col in DURATIONS:
        n = counts[col]
        params[f"n_{col}"] = n
        if not n:
            parts.append(f"NULL::float8 AS {col}")
        elif n < WALK_FROM:
            # Sorted, together with the other small ones, in one pass over the cohort.
            small.append(f"percentile_cont({P90}) WITHIN GROUP (ORDER BY f.{col}) AS {col}")
            parts.append(f"small.{col}")
        else:
            rank = f"({P90}::float8 * (%(n_{col})s - 1))"
            parts.append(
                f"(SELECT min(x.v) + ({rank} - floor({rank})) * (max(x.v) - min(x.v)) FROM ("
                f"SELECT f.{col} AS v FROM {_t(WorkOrderFact)} f WHERE f.{col} IS NOT NULL AND {where} "
                f"ORDER BY f.{col} DESC OFFSET (%(n_{col})s - 1 - ceil({rank}))::bigint "
                f"LIMIT (ceil({rank}) - floor({rank}) + 1)::bigint) x) AS {col}"
            )
    with_small = (
        f"WITH small AS (SELECT {', '.join(small)} FROM {_t(WorkOrderFact)} f WHERE {where}) " if small else ""
    )
    return _rows(f"{with_small}SELECT {', '.join(parts)}{' FROM small' if small else ''}", params)[0]


def _maintenance_sql(where: str) -> str:
    """Preventive maintenance compliance: the planned visits *scheduled* in the range (not the
    orders created in it: a visit's order is created months ahead) that are due - their day has
    passed, or they are done - and of those, the ones done on time (resolved on or before their
    day, local time). A visit's day is the day it was scheduled for, or, when the customer moved
    the visit (a ``reschedule`` event by the customer, from the tracking link), the day of its
    order's appointment (else its preferred time) if later: done on the day they chose is on time.
    A dispatcher booking an overdue visit later does not move its day. The filters apply to the visit's order, aliased ``f`` for them.
    It runs as a part of the summary's query (the page's query count stays as it was)."""
    return f"""
SELECT count(*) FILTER (WHERE d.day < %(m_today)s OR m.on_time) AS maintenance_due,
       count(*) FILTER (WHERE m.on_time) AS maintenance_on_time
FROM {_t(PlanVisit)} v
JOIN {_t(WorkOrder)} f ON f.id = v.work_order_id
CROSS JOIN LATERAL (SELECT CASE WHEN EXISTS (SELECT 1 FROM {_t(WorkOrderEvent)} e
                                             WHERE e.work_order_id = f.id AND e.action = 'reschedule'
                                               AND e.actor_role = '{R.CUSTOMER}')
                                 THEN greatest(v.scheduled_on, (coalesce(f.appointment_start, f.preferred_start)
                                                                AT TIME ZONE %(m_tz)s)::date)
                                 ELSE v.scheduled_on END AS day) d
CROSS JOIN LATERAL (SELECT coalesce((f.resolved_at AT TIME ZONE %(m_tz)s)::date <= d.day, FALSE) AS on_time) m
WHERE v.scheduled_on BETWEEN %(m_from)s AND %(m_to)s AND {where}
"""


@dataclass
class Summary:
    total: int
    times: list[dict]  # per target: n, avg and p90 in clock and business seconds
    sla: list[dict]  # per target: met, missed, compliance %
    quality: dict  # resolved, first-time fix, second visits, reopened, satisfaction, NPS
    maintenance: dict | None = None  # planned visits due, done on time, compliance %


def summary(f: Filters, *, now=None, grain: int | None | str = "auto") -> Summary:
    """The summary figures; from the day rollups when they serve the filters (``rollup_grain``),
    else from the summary rows (``grain=None`` forces the rows: the tests compare the two)."""
    where, params = _where(f)
    grain = rollup_grain(f) if grain == "auto" else grain
    if grain is None:
        main = _summary_sql(where)
    else:
        r_where, r_params = _rollup_where(f, grain, prefix="r")
        params.update(r_params)
        main = _summary_rollup_sql(r_where, where)
    params["now"] = now = now or timezone.now()
    m_where, m_params = _where(f, dates=False, prefix="m")
    params.update(m_params)
    params.update({"m_from": f.date_from, "m_to": f.date_to, "m_today": timezone.localdate(now),
                   "m_tz": timezone.get_current_timezone_name()})
    row = _rows(
        f"""
WITH s AS ({main}), mv AS ({_maintenance_sql(m_where)})
SELECT s.*, mv.*,
       round(100.0 * mv.maintenance_on_time / nullif(mv.maintenance_due, 0), 1) AS maintenance_compliance,
       round(100.0 * s.first_time_fixed / nullif(s.resolved, 0), 1) AS first_time_fix_rate,
       round(s.satisfaction_avg, 2) AS satisfaction_avg_2,
       round(100.0 * (s.promoters - s.detractors) / nullif(s.recommend_answers, 0), 1) AS nps,
       {", ".join(
           f"round(100.0 * s.{t}_met / nullif(s.{t}_met + s.{t}_missed, 0), 1) AS {t}_compliance" for t in TARGETS
       )}
FROM s, mv
""",
        params,
    )[0]
    p90 = _p90s(f, {col: row[col.removesuffix("_s") + "_n"] for col in DURATIONS})
    times = [
        {
            "target": t, "label": TARGET_LABELS[t],
            "clock_n": row[f"{t}_clock_n"], "business_n": row[f"{t}_business_n"],
            "clock_avg": row[f"{t}_clock_avg"], "clock_p90": p90[f"{t}_clock_s"],
            "business_avg": row[f"{t}_business_avg"], "business_p90": p90[f"{t}_business_s"],
        }
        for t in TARGETS
    ]
    sla = [
        {"target": t, "label": TARGET_LABELS[t], "met": row[f"{t}_met"], "missed": row[f"{t}_missed"],
         "compliance": row[f"{t}_compliance"]}
        for t in TARGETS
    ]
    quality = {
        "resolved": row["resolved"], "first_time_fixed": row["first_time_fixed"],
        "first_time_fix_rate": row["first_time_fix_rate"], "second_visits": row["second_visits"],
        "reopened": row["reopened"], "answers": row["answers"], "satisfaction_avg": row["satisfaction_avg_2"],
        "recommend_answers": row["recommend_answers"], "promoters": row["promoters"], "passives": row["passives"],
        "detractors": row["detractors"], "nps": row["nps"],
    }
    maintenance = {"due": row["maintenance_due"], "on_time": row["maintenance_on_time"],
                   "compliance": row["maintenance_compliance"]}
    return Summary(total=row["total"], times=times, sla=sla, quality=quality, maintenance=maintenance)


# --- Volume: by status, per day, per week ---------------------------------------------------


@dataclass
class Volume:
    by_status: list[dict]  # status, label, count
    daily: list[dict]  # day, total, one key per status
    weekly: list[dict]  # week (Monday), total, one key per status


def volume(f: Filters, *, grain: int | None | str = "auto") -> Volume:
    grain = rollup_grain(f) if grain == "auto" else grain
    if grain is None:
        where, params = _where(f)
        counted = f"SELECT f.created_day, f.status, count(*) AS n FROM {_t(WorkOrderFact)} f WHERE {where}"
    else:  # the day rollups (the same counts)
        where, params = _rollup_where(f, grain)
        counted = f"SELECT f.created_day, f.status, sum(f.orders) AS n FROM {_t(DayRollup)} f WHERE {where}"
    per_status = ", ".join(f"coalesce(sum(c.n) FILTER (WHERE c.status = '{s}'), 0)::int AS {s}" for s in STATUSES)
    sums = ", ".join(f"sum({s})::int AS {s}" for s in STATUSES)
    rows = _rows(
        f"""
WITH c AS (
    {counted}
    GROUP BY f.created_day, f.status
), daily AS (
    -- every day of the range, with or without orders, so the trend has no gaps
    SELECT g::date AS day, coalesce(sum(c.n), 0)::int AS total, {per_status}
    FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') g
    LEFT JOIN c ON c.created_day = g::date
    GROUP BY g
)
SELECT 'day' AS grain, day, total, {", ".join(STATUSES)} FROM daily
UNION ALL
SELECT 'week', date_trunc('week', day)::date, sum(total)::int, {sums} FROM daily GROUP BY 2
UNION ALL
SELECT 'all', NULL, sum(total)::int, {sums} FROM daily
ORDER BY 1, 2
""",
        {**params, "first": f.date_from, "last": f.date_to},
    )
    overall = next(r for r in rows if r["grain"] == "all")
    return Volume(
        by_status=[{"status": s, "label": Status(s).label, "count": overall[s] or 0} for s in STATUSES],
        daily=[r for r in rows if r["grain"] == "day"],
        weekly=[r for r in rows if r["grain"] == "week"],
    )


# --- Backlog: the open orders now, by age -----------------------------------------------------


def backlog(f: Filters, *, now=None) -> list[dict]:
    where, params = _where(f, dates=False)
    params["now"] = now or timezone.now()
    columns = []
    for code, _label, low, high in BACKLOG_BUCKETS:
        # The bucket's bounds as moments (created at or before "now - low days" ...), given as
        # parameters so that PostgreSQL compares timestamps instead of subtracting per row.
        params[f"older_{code}"] = params["now"] - timedelta(days=low)
        cond = f"f.created_at <= %(older_{code})s"
        if high is not None:
            params[f"younger_{code}"] = params["now"] - timedelta(days=high)
            cond += f" AND f.created_at > %(younger_{code})s"
        columns.append(f"count(*) FILTER (WHERE {cond}) AS b_{code}")
    open_list = ", ".join(f"'{s}'" for s in sorted(OPEN))  # the partial index report_fact_open's predicate
    rows = _rows(
        f"""
SELECT f.status, count(*) AS total, {", ".join(columns)}
FROM {_t(WorkOrderFact)} f
WHERE f.status IN ({open_list}) AND {where}
GROUP BY ROLLUP (f.status)
""",
        params,
    )
    by_status = {r["status"]: r for r in rows}
    out = []
    for status in OPEN + [None]:
        r = by_status.get(status) or {}
        out.append({
            "status": status or "total",
            "label": Status(status).label if status else _("All open"),
            "total": r.get("total") or 0,
            "buckets": [r.get(f"b_{code}") or 0 for code, *_ in BACKLOG_BUCKETS],
        })
    return out


# --- Technician leaderboard ---------------------------------------------------------------


def leaderboard(f: Filters, *, limit: int | None = LEADERBOARD_ROWS,
                grain: int | None | str = "auto") -> tuple[list[dict], int]:
    """Per technician: completed jobs, first-time fix, satisfaction, booked and shift hours, utilisation.

    Returns (rows, how many technicians in all). Utilisation is booked hours / shift hours
    in the range (docs/reports.md): booked = the appointment windows of the technician's
    orders that are not cancelled, cut to the range; shift = the working windows the
    technician's shifts give each day of the range (a dated row replaces that weekday's
    pattern, absences are cut out), as ``dispatch.rules.working_windows`` reads them.
    """
    grain = rollup_grain(f) if grain == "auto" else grain
    if grain == DayRollup.BY_TYPE and not f.service_type_id:
        grain = DayRollup.BY_TECHNICIAN  # per technician is what this table counts
    if grain == DayRollup.BY_TECHNICIAN:
        # The day rollups per technician (0: nobody has the order); a technician whose rollup rows
        # are all empty (their orders moved to someone else) has no orders in the cohort.
        where, params = _rollup_where(f, grain)
        jobs = f"""
    SELECT f.technician_id AS tid,
           sum(f.resolved)::bigint AS completed,
           sum(f.first_time_fixed)::bigint AS first_time_fixed,
           round(100.0 * sum(f.first_time_fixed) / nullif(sum(f.resolved), 0), 1) AS first_time_fix_rate,
           round(sum(f.satisfaction_sum)::numeric / nullif(sum(f.answers), 0), 2) AS satisfaction_avg,
           sum(f.answers)::bigint AS answers
    FROM {_t(DayRollup)} f
    WHERE f.technician_id <> 0 AND {where}
    GROUP BY f.technician_id
    HAVING sum(f.orders) > 0"""
    else:
        where, params = _where(f)
        jobs = f"""
    SELECT f.technician_id AS tid,
           count(f.first_time_fix) AS completed,  -- set exactly when the order was resolved
           count(*) FILTER (WHERE f.first_time_fix) AS first_time_fixed,
           round(100.0 * count(*) FILTER (WHERE f.first_time_fix) / nullif(count(f.first_time_fix), 0), 1)
               AS first_time_fix_rate,
           round(avg(f.satisfaction), 2) AS satisfaction_avg,
           count(f.satisfaction) AS answers
    FROM {_t(WorkOrderFact)} f
    WHERE f.technician_id IS NOT NULL AND {where}
    GROUP BY f.technician_id"""
    booked_where, booked_params = _where(f, dates=False, technician_column="f.booked_technician_id", prefix="b")
    start, end = _range_bounds(f)
    sql = f"""
WITH jobs AS ({jobs}
), booked AS (
    SELECT f.booked_technician_id AS tid,
           -- Two sums, not one over a CASE: extract() gives numeric, and a CASE with it would make
           -- PostgreSQL add every window in numeric; the windows inside the range add as integers.
           coalesce(sum(f.booked_s) FILTER (WHERE f.appointment_start >= %(start)s AND f.appointment_end <= %(end)s), 0)
           -- a window across either end of the range counts only inside it
           + coalesce(sum(extract(epoch FROM least(f.appointment_end, %(end)s) - greatest(f.appointment_start, %(start)s)))
                      FILTER (WHERE f.appointment_start < %(start)s OR f.appointment_end > %(end)s), 0) AS seconds
    FROM {_t(WorkOrderFact)} f
    WHERE f.appointment_start >= %(earliest)s AND f.appointment_start < %(end)s AND f.appointment_end > %(start)s
      AND f.status <> 'cancelled' AND f.booked_technician_id IS NOT NULL AND {booked_where}
    GROUP BY f.booked_technician_id
), techs AS (
    SELECT tid FROM jobs UNION SELECT tid FROM booked
), days AS (
    -- how many Mondays, Tuesdays ... the range has
    SELECT extract(isodow FROM g)::int - 1 AS wd, count(*) AS n
    FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') g
    GROUP BY 1
), weekly AS (
    -- the weekly pattern: working seconds per technician and weekday (overlapping rows merged)
    SELECT w.tid, w.wd,
           (SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0) FROM unnest(w.spans) r) AS seconds
    FROM (SELECT s.technician_id AS tid, s.weekday AS wd,
                 range_agg(tsrange(date '2000-01-03' + s.start, date '2000-01-03' + s."end")) AS spans
          FROM {_t(Shift)} s JOIN techs ON techs.tid = s.technician_id
          WHERE s.date IS NULL AND s.available
          GROUP BY s.technician_id, s.weekday) w
), usual AS (
    -- every day of the range as its weekday's pattern has it
    SELECT wk.tid, sum(wk.seconds * d.n) AS seconds FROM weekly wk JOIN days d ON d.wd = wk.wd GROUP BY wk.tid
), special AS (
    -- the days with dated rows (an extra or short day, an absence) are worked out one by one
    SELECT DISTINCT s.technician_id AS tid, s.date AS day, extract(isodow FROM s.date)::int - 1 AS wd
    FROM {_t(Shift)} s JOIN techs ON techs.tid = s.technician_id
    WHERE s.date BETWEEN %(first)s AND %(last)s
), rows AS (
    SELECT sp.tid, sp.day, sp.wd, s.available, s.date IS NOT NULL AS dated,
           tsrange(sp.day + s.start, sp.day + s."end") AS span
    FROM special sp
    JOIN {_t(Shift)} s ON s.technician_id = sp.tid AND (s.date = sp.day OR (s.date IS NULL AND s.weekday = sp.wd))
), per_day AS (
    SELECT tid, day, wd,
           -- working rows for the date replace the weekday's pattern
           coalesce(range_agg(span) FILTER (WHERE available AND dated),
                    range_agg(span) FILTER (WHERE available AND NOT dated)) AS working,
           bool_or(NOT available AND span IS NULL) AS absent_all_day,
           coalesce(range_agg(span) FILTER (WHERE NOT available AND span IS NOT NULL), '{{}}'::tsmultirange)
               AS absent
    FROM rows GROUP BY tid, day, wd
), corrections AS (
    -- what those days give, instead of what their weekday's pattern gave
    SELECT p.tid,
           sum(CASE WHEN p.absent_all_day OR p.working IS NULL THEN 0 ELSE
                   (SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0)
                    FROM unnest(p.working - p.absent) r) END
               - coalesce(wk.seconds, 0)) AS seconds
    FROM per_day p LEFT JOIN weekly wk ON wk.tid = p.tid AND wk.wd = p.wd
    GROUP BY p.tid
), shift AS (
    SELECT tid, sum(seconds) AS seconds
    FROM (SELECT tid, seconds FROM usual UNION ALL SELECT tid, seconds FROM corrections) x
    GROUP BY tid
), scheduled AS (
    SELECT DISTINCT s.technician_id AS tid FROM {_t(Shift)} s JOIN techs ON techs.tid = s.technician_id
)
SELECT t.id AS technician_id, coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username) AS name,
       pc.name AS partner,
       coalesce(j.completed, 0) AS completed, coalesce(j.first_time_fixed, 0) AS first_time_fixed,
       j.first_time_fix_rate, j.satisfaction_avg, coalesce(j.answers, 0) AS answers,
       round(coalesce(b.seconds, 0) / 3600.0, 2) AS booked_hours,
       CASE WHEN sc.tid IS NULL THEN NULL ELSE round(coalesce(sh.seconds, 0) / 3600.0, 2) END AS shift_hours,
       round(100.0 * coalesce(b.seconds, 0) / nullif(sh.seconds, 0), 1) AS utilisation,
       count(*) OVER () AS technicians
FROM techs
JOIN {_t(Technician)} t ON t.id = techs.tid
JOIN auth_user u ON u.id = t.user_id
LEFT JOIN {_t(PartnerCompany)} pc ON pc.id = t.partner_company_id
LEFT JOIN jobs j ON j.tid = techs.tid
LEFT JOIN booked b ON b.tid = techs.tid
LEFT JOIN shift sh ON sh.tid = techs.tid
LEFT JOIN scheduled sc ON sc.tid = techs.tid
ORDER BY completed DESC, j.first_time_fix_rate DESC NULLS LAST, j.satisfaction_avg DESC NULLS LAST, name, t.id
{"LIMIT %(limit)s" if limit else ""}
"""
    rows = _rows(sql, {
        **params, **booked_params, "start": start, "end": end, "earliest": start - MAX_BOOKING,
        "first": f.date_from, "last": f.date_to, "limit": limit,
    })
    total = rows[0]["technicians"] if rows else 0
    return rows, total


def dashboard(f: Filters, *, now=None) -> dict:
    """Everything the page shows, in six queries (and one to set them up). ``dashboard_kept`` is what
    the page calls: these figures as the shared cache keeps them for a minute."""
    now = now or timezone.now()
    with tuned():
        s = summary(f, now=now)
        v = volume(f)
        board, technicians = leaderboard(f)
        waiting = backlog(f, now=now)
        repeats = repeat_visits(f)
    return {"summary": s, "volume": v, "backlog": waiting, "leaderboard": board, "technician_count": technicians,
            "repeat_visits": repeats}


# --- The figures kept a minute ---------------------------------------------------------------------
#
# The page's six queries take 150-300 ms of the database at 1,000,000 orders, and four managers
# opening it at the same moment on a busy day took 580 ms at the 95th percentile
# (bench/day_in_life.py). The figures of one set of filters are the same for every manager for a
# while: they are kept in the shared cache (Django's, Redis when configured) for
# REPORTS_DASHBOARD_CACHE_SECONDS, and the page says when they were worked out. The reports sweep
# (every REPORTS_SWEEP_SECONDS) works out the page everyone opens first (the last DEFAULT_DAYS days,
# no filter) afresh in each language, so that one is never worked out while a manager waits.


# Part of the key: raised whenever what is kept changes shape (Summary, Volume, the dict's keys), so
# that a release never reads what another one kept.
DASHBOARD_KEPT_FORMAT = 1


def dashboard_key(f: Filters) -> str:
    """The shared cache's key of the figures of ``f`` in the current language."""
    parts = [DASHBOARD_KEPT_FORMAT, get_language() or "", f.date_from.isoformat(), f.date_to.isoformat(), f.service_type_id or "",
             f.partner or "", f.technician_id or ""]
    return "reports:dashboard:" + ":".join(str(part) for part in parts)


def dashboard_kept(f: Filters, *, refresh: bool = False) -> dict:
    """``dashboard(f)`` with ``as_of`` (when it was worked out): from the shared cache when it has
    them (``refresh`` works them out again), else worked out now and kept there.
    REPORTS_DASHBOARD_CACHE_SECONDS = 0 keeps nothing (every page works them out)."""
    seconds = settings.REPORTS_DASHBOARD_CACHE_SECONDS
    key = dashboard_key(f)
    if seconds > 0 and not refresh:
        try:
            kept = cache.get(key)
        except Exception:  # kept by code that no longer reads the same (a class moved): a miss
            logger.warning("reports: the kept dashboard %s could not be read; working it out", key, exc_info=True)
            kept = None
        if kept is not None:
            return kept
    now = timezone.now()
    data = {**dashboard(f, now=now), "as_of": now}
    if seconds > 0:
        cache.set(key, data, seconds)
    return data


def dashboard_warm() -> int:
    """Work out the default page (the last ``DEFAULT_DAYS`` days, no filter) afresh in each of the
    site's languages and keep it (``dashboard_kept``); the number of pages worked out (0 when the
    cache is off). Reads the primary: the sweep that calls it has just written the summary rows
    there, which a replica may not have yet."""
    if settings.REPORTS_DASHBOARD_CACHE_SECONDS <= 0:
        return 0
    today = timezone.localdate()
    f = Filters(date_from=today - timedelta(days=DEFAULT_DAYS - 1), date_to=today)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            dashboard_kept(f, refresh=True)
    return len(settings.LANGUAGES)


# --- Repeat visits: orders that came back to the same equipment soon after a completion ---------------

REPEAT_ROWS = 20


def repeat_visits(f: Filters, *, limit: int = REPEAT_ROWS) -> dict:
    """The repeat-visit rate of the orders created in the range on a piece of equipment, by service
    type, by technician and by equipment model (busiest first, at most ``limit`` rows each): how many
    of them were repeat failures (``workorders.history``: within ``REPEAT_FAILURE_DAYS`` of a
    completed order on the same equipment). One query (the three tables are rolled up from it).

    Each order's answer is on its summary row (reports/facts.py keeps it current, on the other
    orders of its equipment too); a row that has none yet (a new order's, until its first refresh)
    is tested here, with the rule itself."""
    qs = WorkOrderFact.objects.filter(created_day__range=(f.date_from, f.date_to), equipment__isnull=False)
    if f.service_type_id:
        qs = qs.filter(service_type_id=f.service_type_id)
    if f.technician_id:
        qs = qs.filter(technician_id=f.technician_id)
    if f.partner == OWN_STAFF:
        qs = qs.filter(technician_id__in=Technician.objects.filter(partner_company__isnull=True).values("id"))
    elif f.partner:
        qs = qs.filter(technician_id__in=Technician.objects.filter(partner_company_id=f.partner).values("id"))
    # The summary row's pk is its order's id, and it carries the order's equipment and creation
    # time: the rule's expression reads them as from the order.
    repeat = Case(When(repeat_failure__isnull=False, then=F("repeat_failure")), default=repeat_failure_exists(),
                  output_field=BooleanField())
    # One pass over the cohort, counted per (service type, technician, model) in PostgreSQL, then
    # rolled up here into the three tables.
    # The model by a lookup per row by the equipment's key (about 0.01 ms each: 100 ms for the
    # 11,000 orders with equipment of 30 days at 1,000,000 orders): with a join, PostgreSQL read
    # the whole equipment table (420,000 rows) into a hash instead, 480 ms.
    model = Subquery(Equipment.objects.filter(pk=OuterRef("equipment_id")).order_by().values("model"))
    cells = list(
        qs.order_by()
        .annotate(model=model)
        .values("service_type_id", "technician_id", "model")
        .annotate(visits=Count("pk"), repeats=Count("pk", filter=repeat))
    )

    def grouped(key: str) -> list[dict]:
        totals: dict = {}
        for cell in cells:
            visits, repeats = totals.get(cell[key], (0, 0))
            totals[cell[key]] = (visits + cell["visits"], repeats + cell["repeats"])
        # Busiest first, then by key (an unassigned technician, None, last: as PostgreSQL sorts NULLs).
        ordered = sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[0] is None, kv[0] if kv[0] is not None else 0))
        return [
            {"key": k, "visits": visits, "repeats": repeats,
             "rate": round(100.0 * repeats / visits, 1) if visits else None}
            for k, (visits, repeats) in ordered[:limit]
        ]

    by_type = grouped("service_type_id")
    types = service_types_by_pk({r["key"] for r in by_type})
    for row in by_type:
        row["label"] = types[row["key"]].name
    by_technician = grouped("technician_id")
    technicians = technician_refs({r["key"] for r in by_technician if r["key"] is not None})
    for row in by_technician:
        ref = technicians.get(row["key"]) if row["key"] is not None else None
        row["label"] = ref.name if ref else str(_("Unassigned"))
    by_model = grouped("model")
    for row in by_model:
        row["label"] = row["key"]
    return {"service_type": by_type, "technician": by_technician, "model": by_model}


# --- Costs and margin ----------------------------------------------------------------------

COST_ROWS = 20  # customers on the page (the busiest by revenue); the export has them all

# GROUPING(service_type_id, customer_id, technician_id): which column a row is grouped by.
_COST_GROUPS = {3: "service_type", 5: "customer", 6: "technician", 7: "total"}


def costs(f: Filters, *, limit: int | None = COST_ROWS) -> dict:
    """Revenue, parts, labour and travel cost and gross margin of the orders created in the range
    that have a completion report: in all, and per service type, customer and technician (one
    query; ``limit`` customers by revenue). Stock at cost per location comes with it (one more).

    Revenue is what the reports charge after contract and warranty cover; the costs are frozen on
    each report when it is submitted (completion.services.job_costs)."""
    where, params = _where(f)
    rows = _rows(
        f"""
SELECT g, service_type_id, customer_id, technician_id, jobs, revenue, parts_cost, labour_cost, travel_cost,
       parts_cost + labour_cost + travel_cost AS cost,
       revenue - (parts_cost + labour_cost + travel_cost) AS margin,
       round(100 * (revenue - (parts_cost + labour_cost + travel_cost)) / nullif(revenue, 0), 1) AS margin_rate
FROM (
    SELECT GROUPING(f.service_type_id, f.customer_id, f.technician_id) AS g,
           f.service_type_id, f.customer_id, f.technician_id, count(*) AS jobs,
           coalesce(sum(f.revenue), 0) AS revenue, coalesce(sum(f.parts_cost), 0) AS parts_cost,
           coalesce(sum(f.labour_cost), 0) AS labour_cost, coalesce(sum(f.travel_cost), 0) AS travel_cost
    FROM {_t(WorkOrderFact)} f
    WHERE f.revenue IS NOT NULL AND {where}
    GROUP BY GROUPING SETS ((f.service_type_id), (f.customer_id), (f.technician_id), ())
) t
ORDER BY g, revenue DESC, service_type_id, customer_id, technician_id
""",
        params,
    )
    groups: dict[str, list[dict]] = {"service_type": [], "customer": [], "technician": [], "total": []}
    for row in rows:
        groups[_COST_GROUPS[row.pop("g")]].append(row)
    total = groups["total"][0] if groups["total"] else {
        "jobs": 0, "revenue": 0, "parts_cost": 0, "labour_cost": 0, "travel_cost": 0, "cost": 0, "margin": 0,
        "margin_rate": None,
    }
    types = service_types_by_pk({r["service_type_id"] for r in groups["service_type"]})
    for row in groups["service_type"]:
        row["label"] = types[row["service_type_id"]].name
    technicians = technician_refs({r["technician_id"] for r in groups["technician"] if r["technician_id"]})
    for row in groups["technician"]:
        ref = technicians.get(row["technician_id"]) if row["technician_id"] else None
        row["label"] = ref.name if ref else str(_("Unassigned"))
    customers = groups["customer"] if limit is None else groups["customer"][:limit]
    names = dict(Customer.objects.filter(pk__in=[r["customer_id"] for r in customers if r["customer_id"]])
                 .values_list("pk", "name"))
    for row in customers:
        row["label"] = names.get(row["customer_id"]) or str(_("Unknown customer"))
    stock = stock_value_by_location(partner=f.partner if f.partner != OWN_STAFF else None,
                                    own_staff=f.partner == OWN_STAFF)
    return {
        "total": total, "service_type": groups["service_type"], "customer": customers,
        "customers_total": len(groups["customer"]), "technician": groups["technician"],
        "stock": stock, "stock_total": sum((r["value"] for r in stock), 0),
    }


# --- The cohort's work orders, one row each, with their custom fields (the "work-orders" export) --


def work_orders(f: Filters) -> list[dict]:
    """The cohort's orders (as the dashboard counts them), oldest first: number parts, status,
    priority, service type, customer, technician, and the custom fields' values, intake (the
    order's ``custom``) and completion (its latest report's) in one dict by key."""
    where, params = _where(f)
    sql = (
        f"SELECT w.id, w.created_at, w.status, w.priority, f.service_type_id, f.technician_id, "
        f"c.name AS customer, w.custom || coalesce(("
        f"SELECT r.custom FROM {_t(CompletionReport)} r WHERE r.work_order_id = w.id ORDER BY r.id DESC LIMIT 1"
        f"), '{{}}'::jsonb) AS custom "
        f"FROM {_t(WorkOrderFact)} f JOIN {_t(WorkOrder)} w ON w.id = f.work_order_id "
        f"JOIN {_t(Customer)} c ON c.id = w.customer_id WHERE {where} ORDER BY w.id"
    )
    rows = _rows(sql, params)
    for row in rows:
        if isinstance(row["custom"], str):  # the driver may hand JSON over as text
            row["custom"] = json.loads(row["custom"])
    return rows
