"""Benchmark: the maintenance sweep plans a year of visits for 50,000 pieces of equipment.

    .venv/bin/python bench/maintenance_bench.py [--database-url postgres://postgres@127.0.0.1:5432/bench_pm]
                                                [--plans 50000] [--horizon-days 365] [--rebuild]

Target (issue 19): under 60 s. Measured 2026-12-06 (session 11) on a quiet machine (2 cores), the same
database (50,000 plans, 365 days, 331,667 visits and work orders): 52.2 s and 51.5 s (CPU 21.2-21.5 s
in this process + 29.8-30.2 s in its PostgreSQL backend), against 57.7 s (22.8 + 33.1 s) for the code
before each visit drew its order's id (0e6aa94); a second sweep the same day created nothing in 3.2 s.

The first run creates the database, migrates it and fills it (``--rebuild`` does it again):
``--plans`` customers, each with a site, a piece of equipment and a plan on it; a quarter of the
plans monthly, half quarterly, the rest every six months or every four weeks, starting on days
spread over the coming month. Each run then empties the visits and their orders and times
``maintenance.services.plans_sweep`` creating every visit and work order of the horizon (the beat
task's first run on a new installation: the worst case; later runs only add the days the horizon
moved on), then times a second sweep, which must create nothing.

Besides the wall time it prints the CPU time of the sweep in this process and in its PostgreSQL
backend (from /proc): on a busy machine the wall time says little, while the two CPU figures
hardly move with other programs' load; on a quiet machine their sum is close to the wall time
(one connection, one statement at a time; the WAL writer and checkpoints come on top).
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.common import ensure_database, process_cpu_seconds  # noqa: E402


def fill(n: int) -> None:
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from catalog.models import ServiceType
    from customers.models import Customer, Equipment, Site
    from maintenance.models import MaintenancePlan

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    today = timezone.localdate()
    st, _ = ServiceType.objects.get_or_create(code="pm-bench", defaults={"name": "Planned maintenance"})
    chunk = 5000
    for low in range(0, n, chunk):
        ids = range(low, min(n, low + chunk))
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                [Customer(name=f"Bench customer {i}", phone=f"+8613{i:09d}") for i in ids])
            sites = Site.objects.bulk_create(
                [Site(customer=c, address=f"{i} Bench Road, Shanghai") for i, c in zip(ids, customers)])
            equipment = Equipment.objects.bulk_create(
                [Equipment(customer=c, site=s, serial=f"BENCH-{i:08d}", model="Chiller")
                 for i, c, s in zip(ids, customers, sites)])
            plans = []
            for i, e in zip(ids, equipment):
                kind = i % 20
                if kind < 5:
                    unit, every = MaintenancePlan.Unit.MONTHS, 1
                elif kind < 15:
                    unit, every = MaintenancePlan.Unit.MONTHS, 3
                elif kind < 18:
                    unit, every = MaintenancePlan.Unit.MONTHS, 6
                else:
                    unit, every = MaintenancePlan.Unit.WEEKS, 4
                plans.append(MaintenancePlan(
                    name=f"Plan {i}", customer_id=e.customer_id, equipment=e, service_type=st, unit=unit,
                    every=every, starts_on=today + timedelta(days=i % 30),
                    checklist="Check refrigerant pressure\nClean condenser coils"))
            MaintenancePlan.objects.bulk_create(plans)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would leave the tables some time later
    print(f"filled {n} customers, sites, equipment and plans in {time.monotonic() - started:.1f} s")


def empty_visits() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # Orders of the channel "maint" and everything written with them (events, visits, outbox).
        cursor.execute("TRUNCATE maintenance_planvisit, workorders_workorderevent, workorders_workorder, "
                       "reports_workorderfact RESTART IDENTITY CASCADE")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_pm")
    parser.add_argument("--plans", type=int, default=50_000)
    parser.add_argument("--horizon-days", type=int, default=365)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("STATIC_MANIFEST", "0")
    must_fill = ensure_database(args.database_url, rebuild=args.rebuild)

    import django

    django.setup()
    from django.db import connection

    from maintenance.models import MaintenancePlan, PlanVisit
    from maintenance.services import plans_sweep
    from workorders.models import WorkOrder

    if must_fill or MaintenancePlan.objects.count() != args.plans:
        if not must_fill:
            print("the database holds another number of plans: use --rebuild")
            return 2
        fill(args.plans)
    empty_visits()
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    started, cpu, db_cpu = time.perf_counter(), time.process_time(), process_cpu_seconds(backend)
    created = plans_sweep(horizon_days=args.horizon_days)
    first = time.perf_counter() - started
    cpu, db_cpu = time.process_time() - cpu, process_cpu_seconds(backend) - db_cpu
    started = time.perf_counter()
    again = plans_sweep(horizon_days=args.horizon_days)
    second = time.perf_counter() - started
    visits, orders = PlanVisit.objects.count(), WorkOrder.objects.count()
    unlinked = PlanVisit.objects.filter(work_order__isnull=True).count()
    print(f"plans: {args.plans}, horizon: {args.horizon_days} days")
    print(f"first sweep: {created} visits and work orders in {first:.1f} s ({created / first:.0f} per s); "
          f"CPU {cpu:.1f} s in this process + {db_cpu:.1f} s in its PostgreSQL backend")
    print(f"second sweep: {again} created in {second:.1f} s")
    print(f"check: {visits} visits, {orders} work orders, {unlinked} visits without an order")
    return 0 if again == 0 and visits == orders == created and not unlinked else 1


if __name__ == "__main__":
    sys.exit(main())
