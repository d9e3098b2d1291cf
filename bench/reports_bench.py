"""Benchmark: the managers' reports dashboard over the seeded database, 90-day range.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/reports_bench.py --prepare
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/reports_bench.py

Target (issue 6): server time under 500 ms for the dashboard over 1,000,000 work orders.

``--prepare`` (once; safe to repeat, it adds only what is missing) readies a database
seeded by ``manage.py seed_demo`` (1M orders, their events) for the reports:

1. applies the ``reports`` migrations (only those);
2. the seed writes no survey answers and no completion reports: it adds an answered
   survey to closed orders of the last ``--days`` days (satisfaction and
   recommendation spread as real answers are, mostly good), and a completion report
   asking for a second visit to about 3% of them (review approved, so nobody's review
   queue grows). Their tokens and texts start with "bench" so they can be told apart;
3. builds the summary rows of every order (``reports.facts.facts_rebuild``).

A measuring run first catches up on events written since (``facts_sweep``) and
vacuums the summary table as autovacuum would (``--no-vacuum`` to skip), then,
inside a transaction that is rolled back at the end (other benchmarks share this
database, and shifts change who dispatch may choose), gives every technician without
shifts a Monday-to-Saturday rota, so that utilisation has shifts to divide by. It then
requests the dashboard in this process with Django's test client as the seeded
``manager`` user: ``--warmup`` unmeasured requests, then ``--repeat`` measured ones
for each filter set (all orders; one service type; one technician).

What it prints, per filter set:

- server time: the wall time of ``client.get`` (view, SQL, template), median and p95;
- CPU time: this process's (Python) plus the PostgreSQL backend's for the request, read
  from /proc (the database runs on this host; the dashboard's queries run in that one
  backend, as ``reports.selectors.tuned`` turns parallel workers off). On a machine
  shared with other load, CPU time is the steadier figure: wall time only grows with
  the load, CPU time much less;
- the wall time of each SQL statement; ``--explain`` prints the plans.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production settings, minus what needs TLS or collectstatic (the client talks plain HTTP in-process).
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from reports.facts import facts_rebuild, facts_sweep  # noqa: E402
from reports.forms import Filters  # noqa: E402
from reports.models import WorkOrderFact  # noqa: E402
from workorders.models import WorkOrder  # noqa: E402


def log(message=""):
    print(message, flush=True)


def prepare(days: int, rebuild: bool) -> None:
    call_command("migrate", "reports", verbosity=0)
    since = timezone.now() - timedelta(days=days)
    with connection.cursor() as cursor:
        started = time.perf_counter()
        # Satisfaction: 5 (55%), 4 (25%), 3 (10%), 2 (6%), 1 (4%); recommendation follows it.
        cursor.execute(
            """
            INSERT INTO workorders_survey (token, language, status, created_at, expires_at, answered_at,
                satisfaction, solved, recommend, comment, needs_callback, callback_note, callback_outcome,
                work_order_id)
            SELECT 'bench-' || wo.id, 'zh-hans', 'answered', wo.resolved_at, wo.resolved_at + interval '14 days',
                   wo.closed_at, s.sat, s.sat >= 3,
                   least(10, greatest(0, s.sat * 2 + (abs(hashtext('r' || wo.id)) %% 3) - 1)), 'bench', false, '',
                   '', wo.id
            FROM workorders_workorder wo
            CROSS JOIN LATERAL (SELECT CASE
                WHEN abs(hashtext(wo.id::text)) %% 100 < 55 THEN 5
                WHEN abs(hashtext(wo.id::text)) %% 100 < 80 THEN 4
                WHEN abs(hashtext(wo.id::text)) %% 100 < 90 THEN 3
                WHEN abs(hashtext(wo.id::text)) %% 100 < 96 THEN 2 ELSE 1 END AS sat) s
            WHERE wo.status = 'closed' AND wo.created_at >= %s AND wo.resolved_at IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM workorders_survey x WHERE x.work_order_id = wo.id)
            """,
            [since],
        )
        log(f"surveys added: {cursor.rowcount} ({time.perf_counter() - started:.1f} s)")
        started = time.perf_counter()
        cursor.execute(
            """
            WITH picked AS (
                SELECT wo.id, wo.technician_id, t.user_id, wo.resolved_at
                FROM workorders_workorder wo JOIN technicians_technician t ON t.id = wo.technician_id
                WHERE wo.status = 'closed' AND wo.created_at >= %s AND wo.resolved_at IS NOT NULL
                  AND abs(hashtext('v' || wo.id)) %% 100 < 3
                  AND NOT EXISTS (SELECT 1 FROM workorders_completionreport r WHERE r.work_order_id = wo.id)
            ), signature AS (
                INSERT INTO workorders_attachment (work_order_id, kind, file, content_type, size, original_name,
                                                   created_at)
                SELECT id, 'signature', 'bench/signature.png', 'image/png', 0, 'bench', resolved_at FROM picked
                RETURNING id, work_order_id
            )
            INSERT INTO workorders_completionreport (work_order_id, technician_id, submitted_by_id, submission_key,
                work_done, labour_minutes, labour_rate, callout_fee, labour_amount, parts_amount, total_amount,
                signer_name, signature_id, signed_at, needs_second_visit, second_visit_reason, review_status,
                review_comment, revision_note, created_at)
            SELECT p.id, p.technician_id, p.user_id, gen_random_uuid(), 'bench', 60, 100, 50, 100, 0, 150,
                   'bench', s.id, p.resolved_at, true, 'bench: a part has to be ordered', 'approved', '', '',
                   p.resolved_at
            FROM picked p JOIN signature s ON s.work_order_id = p.id
            """,
            [since],
        )
        log(f"completion reports asking for a second visit: {cursor.rowcount} ({time.perf_counter() - started:.1f} s)")
    orders = WorkOrder.objects.count()
    facts = WorkOrderFact.objects.count()
    if rebuild or facts < orders:
        log(f"building the summary rows of {orders} orders ...")
        started = time.perf_counter()

        def progress(done, total):
            print(f"  {done}/{total}  {time.perf_counter() - started:.0f} s", end="\r", flush=True)

        built = facts_rebuild(progress=progress)
        log(f"\nsummary rows built: {built} ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reports_workorderfact")  # index-only scans need the visibility map


class QueryTimer:
    """Wall time of each SQL statement the dashboard runs (connection.execute_wrapper)."""

    def __init__(self):
        self.times: list[tuple[str, object, float]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.times.append((sql, params, time.perf_counter() - started))


_TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu_ms() -> float | None:
    """CPU time used so far by this connection's PostgreSQL backend (database on this host only)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / _TICK  # utime + stime


def _pct(values, q):
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def measure(args) -> None:
    caught_up = 0
    while True:
        n = facts_sweep()
        caught_up += n
        if not n:
            break
    log(f"summary rows refreshed for new events: {caught_up}")
    if not args.no_vacuum:
        # What autovacuum does on its own once 0.5% of the table has changed (the table's
        # settings, migration reports 0001): index-only scans need all-visible pages.
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM reports_workorderfact")
        log(f"VACUUM reports_workorderfact: {time.perf_counter() - started:.1f} s")
    last_day = WorkOrderFact.objects.order_by("-created_day").values_list("created_day", flat=True).first()
    first_day = last_day - timedelta(days=args.days_range - 1)
    in_range = WorkOrderFact.objects.filter(created_day__range=(first_day, last_day)).count()
    log(f"work orders: {WorkOrder.objects.count()}; summary rows: {WorkOrderFact.objects.count()}; "
        f"in the {args.days_range}-day range {first_day}..{last_day}: {in_range}")

    manager = User.objects.get(username=args.user)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Shifts for this run only (rolled back): Mon-Fri 09:00-18:00, Sat 09:00-13:00.
            cursor.execute(
                """
                INSERT INTO technicians_shift (technician_id, weekday, date, start, "end", available)
                SELECT t.id, d.wd, NULL, '09:00', CASE WHEN d.wd = 5 THEN time '13:00' ELSE time '18:00' END, true
                FROM technicians_technician t CROSS JOIN generate_series(0, 5) AS d(wd)
                WHERE NOT EXISTS (SELECT 1 FROM technicians_shift s WHERE s.technician_id = t.id)
                """
            )
            log(f"shift rows for this run: {cursor.rowcount}")
        client.force_login(manager)
        tech_id = (WorkOrderFact.objects.filter(created_day__range=(first_day, last_day), technician_id__isnull=False)
                   .values_list("technician_id", flat=True).first())
        st_id = (WorkOrderFact.objects.filter(created_day__range=(first_day, last_day))
                 .values_list("service_type_id", flat=True).first())
        base = {"from": first_day.isoformat(), "to": last_day.isoformat()}
        scenarios = [("all orders", base), ("one service type", {**base, "service_type": st_id}),
                     ("one technician", {**base, "technician": tech_id})]
        for name, query in scenarios:
            for _ in range(args.warmup):
                response = client.get("/reports/", query)
                assert response.status_code == 200, (response.status_code, response.content[:500])
            wall, cpu, db_cpu, per_query = [], [], [], []
            for _ in range(args.repeat):
                timer = QueryTimer()
                db0 = backend_cpu_ms()
                cpu0 = time.process_time()
                started = time.perf_counter()
                with connection.execute_wrapper(timer):
                    response = client.get("/reports/", query)
                wall.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu0) * 1000)
                db1 = backend_cpu_ms()
                if db0 is not None and db1 is not None:
                    db_cpu.append(db1 - db0)
                assert response.status_code == 200
                per_query.append([t * 1000 for _sql, _params, t in timer.times])
            log(f"\n{name}: {query}")
            log(f"  server time ms: median {statistics.median(wall):.0f}, p95 {_pct(wall, 0.95):.0f}, "
                f"min {min(wall):.0f}, max {max(wall):.0f} (n={len(wall)})")
            log(f"  Python CPU ms:  median {statistics.median(cpu):.0f}")
            if db_cpu:
                both = [a + b for a, b in zip(cpu, db_cpu)]
                log(f"  database backend CPU ms: median {statistics.median(db_cpu):.0f}, p95 {_pct(db_cpu, 0.95):.0f}")
                log(f"  CPU ms, Python + database: median {statistics.median(both):.0f}, p95 {_pct(both, 0.95):.0f}")
            columns = list(zip(*per_query))
            log(f"  SQL statements per request: {len(columns)}; median ms each: "
                + ", ".join(f"{statistics.median(c):.0f}" for c in columns))
        if args.explain:
            from reports import selectors

            filters = Filters(date_from=first_day, date_to=last_day)
            timer = QueryTimer()
            with connection.execute_wrapper(timer):
                selectors.dashboard(filters)
            with connection.cursor() as cursor:
                for sql, params, _t in timer.times:
                    if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                        continue
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                    log("\n".join(r[0] for r in cursor.fetchall()))
        transaction.set_rollback(True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", action="store_true", help="add surveys, second visits and summary rows")
    parser.add_argument("--rebuild", action="store_true", help="with --prepare: rebuild every summary row")
    parser.add_argument("--days", type=int, default=120, help="with --prepare: survey the last N days (120)")
    parser.add_argument("--days-range", type=int, default=90, help="the dashboard's date range in days (90)")
    parser.add_argument("--repeat", type=int, default=20, help="measured requests per filter set (20)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured requests first (2)")
    parser.add_argument("--user", default="manager", help="a manager's username (the seed's: manager)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each query")
    parser.add_argument("--no-vacuum", action="store_true", help="measure without vacuuming the summary table first")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.days, args.rebuild)
    else:
        measure(args)


if __name__ == "__main__":
    main()
