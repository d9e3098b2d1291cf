"""Benchmark: one SLA escalation sweep over a large table of open work orders.

    createdb -h 127.0.0.1 -U postgres bench_sla
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_sla OUTBOX_ENQUEUE_ON_COMMIT=0 \
        .venv/bin/python bench/sla_sweep.py --orders 1000000 --due 100

Migrates, fills the table once (raw INSERT ... SELECT generate_series; reused on later
runs), then times ``workorders.sla.escalation_sweep``: with nothing due, and with
``--due`` orders due, and prints EXPLAIN of the claiming query. Targets (issue 5):
under 10 ms with none due, under 100 ms with 100 due.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("OUTBOX_ENQUEUE_ON_COMMIT", "0")
# Escalations write a group-robot message each (never sent here: no worker).
os.environ.setdefault("NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/robot")

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from workorders.models import Escalation, Notification, SlaPolicy, WorkOrder, WorkOrderEvent  # noqa: E402
from workorders.sla import escalation_sweep  # noqa: E402

FILLERS = {"text": "''", "character varying": "''", "integer": "0", "smallint": "0", "bigint": "0",
           "boolean": "false", "timestamp with time zone": "now()", "jsonb": "'{}'", "uuid": "gen_random_uuid()",
           "numeric": "0", "date": "current_date", "time without time zone": "'00:00'"}


def fill(n: int, policy: SlaPolicy):
    from customers.models import Customer
    from workorders.models import ServiceType

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


def timed(fn, repeat=5):
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - t) * 1000)
    return result, runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("needs PostgreSQL (set DATABASE_URL)")
    call_command("migrate", verbosity=0)
    default = SlaPolicy.objects.get(is_default=True)
    policy, _ = SlaPolicy.objects.get_or_create(
        name="bench 24x7", defaults={
            "calendar": SlaPolicy.objects.get(priority=4).calendar, "first_response_minutes": 60,
            "arrival_minutes": 240, "resolution_minutes": 480, "escalation_matrix": default.escalation_matrix,
            "active": False,
        })
    if WorkOrder.objects.count() < args.orders:
        print(f"filling {args.orders:,} open work orders ...", flush=True)
        fill(args.orders - WorkOrder.objects.count(), policy)
    now = timezone.now()
    # Nothing due.
    WorkOrder.objects.filter(next_escalation_at__lte=now).update(next_escalation_at=now + timedelta(hours=1))
    fired, runs = timed(lambda: escalation_sweep(now=now))
    print(f"none due: fired {fired}; {statistics.median(runs):.2f} ms median of {len(runs)} "
          f"(runs: {', '.join(f'{r:.1f}' for r in runs)})")

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) SELECT id FROM workorders_workorder WHERE next_escalation_at <= %s "
                    "ORDER BY next_escalation_at LIMIT 500 FOR UPDATE SKIP LOCKED", [now])
        print("\n".join(r[0] for r in cur.fetchall()))

    # N due: the 75% level of the first response has passed for each of them.
    runs = []
    for _ in range(7):
        ids = list(WorkOrder.objects.order_by("-id").values_list("id", flat=True)[:args.due])
        Escalation.objects.filter(work_order_id__in=ids).delete()
        WorkOrder.objects.filter(pk__in=ids).update(
            next_escalation_at=now - timedelta(minutes=1), sla_started_at=now - timedelta(minutes=50),
            first_response_met_at=None, status="assigned", sla_policy=policy,
        )
        t = time.perf_counter()
        fired = escalation_sweep(now=now)
        runs.append((time.perf_counter() - t) * 1000)
        print(f"{args.due} due: fired {fired} in {runs[-1]:.1f} ms")
    print(f"{args.due} due: {statistics.median(runs):.1f} ms median")
    print(f"(events {WorkOrderEvent.objects.filter(action='escalate').count()}, "
          f"notifications {Notification.objects.count()})")


if __name__ == "__main__":
    main()
