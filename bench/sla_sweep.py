"""Benchmark: one SLA escalation sweep over a million open work orders.

    createdb -h 127.0.0.1 -U postgres bench_sla
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_sla \\
        .venv/bin/python bench/sla_sweep.py [--orders 1000000] [--due 100] [--repeat 15]

    # Only the "none due" case, read-only, on a database seeded by `make bench`:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/sla_sweep.py --read-only

Targets (issue 5): under 10 ms with none due, under 100 ms with 100 due.

Migrates, then fills the table once with ``--orders`` OPEN work orders (raw INSERT ...
SELECT generate_series; reused on later runs), every one of them with a next
escalation hours to days ahead: the worst case for the sweep's partial index
(``wo_next_escalation_due``), which holds every open order with a clock running.
Five dispatchers and three managers with email addresses receive the escalations,
and the group robot too, as with the default escalation matrix.

Then, alternating, ``--repeat`` times each:

- none due: ``escalation_sweep`` when no order is due;
- N due: ``--due`` orders picked at random across the table are made due (half at
  75% of their first-response target: the dispatchers' level; half at 100%, their 75%
  level already fired: the managers' level, which also raises the priority) and one
  sweep fires them: each order one escalation row, one event, and its messages
  (six per dispatcher-level order, four per manager-level order).

Printed: wall time (median, 90th percentile, max) and the CPU time of this process,
the time spent in SQL, the queries of one sweep with their times, and EXPLAIN
(ANALYZE, BUFFERS) of the claiming query with N due (in a transaction rolled back).
The first sweep of a process also loads the policies and calendars (core/refcache.py);
it is shown apart. Other programs on the machine move the wall times; the CPU and
SQL times much less.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("OUTBOX_ENQUEUE_ON_COMMIT", "0")  # no broker here: rows are written, not sent
os.environ.setdefault("NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/robot")

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from notifications.models import Notification  # noqa: E402
from sla.models import EscalationLevel, SlaPolicy  # noqa: E402
from workorders.models import Escalation, WorkOrder  # noqa: E402
from workorders.sla import escalation_sweep  # noqa: E402

FILLERS = {"text": "''", "character varying": "''", "integer": "0", "smallint": "0", "bigint": "0",
           "boolean": "false", "timestamp with time zone": "now()", "jsonb": "'{}'", "uuid": "gen_random_uuid()",
           "numeric": "0", "date": "current_date", "time without time zone": "'00:00'"}

CLAIM_SQL = ("SELECT * FROM workorders_workorder WHERE next_escalation_at <= %s "
             "ORDER BY next_escalation_at LIMIT 500 FOR UPDATE SKIP LOCKED")


def fill(n: int, policy: SlaPolicy):
    from customers.models import Customer
    from catalog.models import ServiceType

    customer, _ = Customer.objects.get_or_create(phone="+8613900000000", defaults={"name": "Bench"})
    service_type, _ = ServiceType.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    values = {
        "status": "'assigned'", "priority": "2", "channel": "'phone'", "customer_id": str(customer.pk),
        "service_type_id": str(service_type.pk), "contact_name": "'Bench'", "contact_phone": "'+8613900000000'",
        "address": "'1 Bench Road'", "description": "'bench'", "language": "'zh-hans'",
        "public_token": "md5(g::text || random()::text)", "created_at": "now() - interval '1 hour'",
        "updated_at": "now()", "sla_policy_id": str(policy.pk), "sla_started_at": "now() - interval '1 hour'",
        "sla_cycle": "1", "first_response_due": "now() + interval '1 day'",
        "arrival_due": "now() + interval '2 days'", "resolution_due": "now() + interval '3 days'",
        # Open orders whose next level is hours to days away, spread out.
        "next_escalation_at": "now() + (mod(g, 5000) + 60) * interval '1 minute'",
    }
    with connection.cursor() as cur:
        cur.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'workorders_workorder' "
            "AND is_nullable = 'NO' AND column_default IS NULL"
        )
        for column, data_type in cur.fetchall():
            if column != "id":
                values.setdefault(column, FILLERS.get(data_type, "''"))
        cols = ", ".join(values)
        exprs = ", ".join(values.values())
        step = 200_000
        for start in range(0, n, step):
            cur.execute(f"INSERT INTO workorders_workorder ({cols}) SELECT {exprs} "
                        f"FROM generate_series(%s, %s) AS g", [start + 1, min(start + step, n)])
            print(f"  {min(start + step, n):,} rows", flush=True)
        cur.execute("ANALYZE workorders_workorder")


def recipients():
    """Five dispatchers and three managers with email addresses (as a real office has)."""
    from django.contrib.auth.models import Group, User

    for role, n in (("dispatcher", 5), ("manager", 3)):
        group, _ = Group.objects.get_or_create(name=role)
        for i in range(n):
            user, created = User.objects.get_or_create(
                username=f"bench-sla-{role}-{i}", defaults={"email": f"bench-sla-{role}-{i}@example.com"}
            )
            if created:
                user.groups.add(group)


class QueryLog:
    def __init__(self):
        self.queries = []

    def __call__(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append(((time.perf_counter() - t) * 1000, sql))


def timed_sweep(now):
    log = QueryLog()
    with connection.execute_wrapper(log):
        cpu, t = time.process_time(), time.perf_counter()
        fired = escalation_sweep(now=now)
        wall = (time.perf_counter() - t) * 1000
        cpu = (time.process_time() - cpu) * 1000
    return fired, wall, cpu, log.queries


def make_due(policy, levels, now, n, id_range):
    """``n`` random open orders: half due for the 75% level, half (75% fired) for the 100% one."""
    low, high = id_range
    ids = sorted(random.sample(range(low, high + 1), n))
    Escalation.objects.filter(work_order_id__in=ids).delete()
    half = ids[: n // 2], ids[n // 2:]
    # 60-minute first response on a 24x7 calendar: 50 minutes used is past 75%, 62 past 100%.
    WorkOrder.objects.filter(pk__in=half[0]).update(
        next_escalation_at=now - timedelta(minutes=5), sla_started_at=now - timedelta(minutes=50),
        first_response_met_at=None, status="assigned", sla_policy=policy, priority=2, sla_cycle=1)
    WorkOrder.objects.filter(pk__in=half[1]).update(
        next_escalation_at=now - timedelta(minutes=2), sla_started_at=now - timedelta(minutes=62),
        first_response_met_at=None, status="assigned", sla_policy=policy, priority=2, sla_cycle=1)
    Escalation.objects.bulk_create(
        Escalation(work_order_id=pk, cycle=1, target="first_response", level=levels[75], percent=75,
                   due_at=now - timedelta(minutes=17), fired_at=now - timedelta(minutes=16))
        for pk in half[1]
    )
    return ids


def summary(label, runs):
    walls = sorted(r[1] for r in runs)
    p90 = walls[min(len(walls) - 1, int(round(0.9 * (len(walls) - 1))))]
    return (f"{label}: wall median {statistics.median(walls):.1f} ms, p90 {p90:.1f}, max {walls[-1]:.1f} "
            f"(n={len(walls)}); CPU median {statistics.median(r[2] for r in runs):.1f} ms; "
            f"SQL median {statistics.median(sum(q for q, _ in r[3]) for r in runs):.1f} ms in "
            f"{statistics.median(len(r[3]) for r in runs):.0f} queries")


def explain(now):
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + CLAIM_SQL, [now])
        plan = "\n".join("    " + r[0] for r in cur.fetchall())
        transaction.set_rollback(True)
    return plan


def read_only(args):
    """Only the none-due case on someone else's database: nothing can be due at ``now``."""
    with connection.cursor() as cur:
        cur.execute("SELECT min(next_escalation_at), count(next_escalation_at), count(*) FROM workorders_workorder")
        first, indexed, total = cur.fetchone()
    if first is None:
        sys.exit("no order has a next escalation: nothing to measure")
    now = first - timedelta(seconds=1)
    print(f"{total:,} work orders, {indexed:,} with a running SLA clock; sweeping as of {now:%Y-%m-%d %H:%M:%S}")
    timed_sweep(now)  # loads the policies
    runs = [timed_sweep(now) for _ in range(args.repeat)]
    assert all(r[0] == 0 for r in runs)
    print(summary("none due", runs))
    print(explain(now))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--read-only", action="store_true",
                        help="only time a sweep with none due; writes nothing (e.g. on the shared bench database)")
    args = parser.parse_args()
    if args.read_only:
        return read_only(args)
    call_command("migrate", verbosity=0)
    default = SlaPolicy.objects.get(is_default=True)
    policy, _ = SlaPolicy.objects.get_or_create(
        name="bench 24x7", defaults={
            "calendar": SlaPolicy.objects.get(priority=4).calendar, "first_response_minutes": 60,
            "arrival_minutes": 240, "resolution_minutes": 480, "escalation_matrix": default.escalation_matrix,
            "active": False,
        })
    levels = {lv.percent: lv for lv in EscalationLevel.objects.filter(matrix=policy.escalation_matrix)}
    recipients()
    open_orders = WorkOrder.objects.filter(next_escalation_at__isnull=False).count()
    if open_orders < args.orders:
        print(f"filling {args.orders - open_orders:,} open work orders ...", flush=True)
        fill(args.orders - open_orders, policy)
    with connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id), count(next_escalation_at) FROM workorders_workorder "
                    "WHERE next_escalation_at IS NOT NULL AND sla_policy_id = %s", [policy.pk])
        low, high, indexed = cur.fetchone()
    print(f"{indexed:,} open work orders with a running clock (ids {low:,}..{high:,})", flush=True)

    now = timezone.now()
    WorkOrder.objects.filter(next_escalation_at__lte=now + timedelta(minutes=10)).update(
        next_escalation_at=now + timedelta(hours=1))
    first = timed_sweep(now)
    print(f"first sweep of the process (loads policies and calendars): {first[1]:.1f} ms")

    none_runs, due_runs, notes = [], [], 0
    for i in range(args.repeat):
        none_runs.append(timed_sweep(now))
        assert none_runs[-1][0] == 0
        ids = make_due(policy, levels, now, args.due, (low, high))
        before = Notification.objects.count()
        if i == 0:
            plan = explain(now)
        due_runs.append(timed_sweep(now))
        assert due_runs[-1][0] == args.due, due_runs[-1][0]
        notes = Notification.objects.count() - before
        # Back out of the index, ready for the next round.
        WorkOrder.objects.filter(pk__in=ids).update(next_escalation_at=now + timedelta(hours=1))
    print(summary("none due", none_runs))
    print(summary(f"{args.due} due", due_runs))
    print(f"  each sweep with {args.due} due wrote {args.due} escalations, {args.due} events, {notes} messages")
    print("  its queries, median ms over the runs:")
    for i, (_ms, sql) in enumerate(due_runs[-1][3]):
        times = [r[3][i][0] for r in due_runs if len(r[3]) > i]
        print(f"    {statistics.median(times):6.2f}  {sql[:100]}")
    print(f"EXPLAIN of the claiming query with {args.due} due:")
    print(plan)


if __name__ == "__main__":
    main()
