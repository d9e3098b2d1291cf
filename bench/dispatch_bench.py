"""Dispatch benchmarks (issue 3), in process, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_dispatch \\
        .venv/bin/python bench/dispatch_bench.py [--work-orders 1000000] [--keep]

    # automatic assignment only (about a minute): seven runs and their medians
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_dispatch \\
        .venv/bin/python bench/dispatch_bench.py --skip-board --runs 7

1. Automatic assignment: 1,000 unassigned orders over 200 technicians with
   capacity 5 (a third of the orders with appointment windows, a few skills,
   some shifts and partner scopes; orders made as intake makes them, with
   their SLA clock running, and technicians with a phone, so each assignment
   writes its event and its outbox message), end to end: load, solve, write
   (``workorders_assign_many``: lock, check the rules again, write; its split
   is shown too). Repeated ``--runs`` times on fresh technicians and orders;
   prints each run's seconds and queries, then the medians.
   ``--no-sla-clock`` makes the orders without an SLA clock (as if created
   before SLAs were configured), so the assignment also starts every clock.
2. The dispatch board with ``--work-orders`` work orders (mostly closed) and
   500 technicians in the database: the number of SQL queries of one request,
   and p50 / p95 server time over ``--requests`` requests (django.test.Client,
   so this is the whole Django stack without the network).

The database named by DATABASE_URL gets a ``test_`` prefix and is created
afresh (and dropped at the end unless ``--keep``); nothing else is touched.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")


def log(message=""):
    print(message, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--technicians", type=int, default=200)
    parser.add_argument("--capacity", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-sla-clock", action="store_true", help="orders without a running SLA clock")
    parser.add_argument("--work-orders", type=int, default=1_000_000)
    parser.add_argument("--board-technicians", type=int, default=500)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--skip-board", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database (no new data for the board)")
    args = parser.parse_args(argv)

    import django

    django.setup()
    import config.wsgi  # noqa: F401  (as in production: the URLconf loaded, long-lived objects frozen)
    from django.conf import settings
    from django.db import connection

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DEBUG = False
    old_name = connection.settings_dict["NAME"]
    log(f"creating test_{old_name} ...")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.reuse)
    try:
        settings.DISPATCH_CAPACITY = args.capacity
        if args.runs:
            bench_auto_assign(args)
        if not args.skip_board:
            settings.DISPATCH_CAPACITY = 6
            bench_board(args)
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


# --------------------------------------------------------------- data


def _setup_reference():
    from django.contrib.auth.models import Group

    from core import roles as R
    from customers.models import Customer, Site
    from catalog.models import ServiceType, ServiceTypeSkill, Skill
    from technicians.models import PartnerCompany, PartnerScope

    skills = [Skill.objects.get_or_create(code=c, defaults={"name": c.title()})[0] for c in ("aircon", "boiler", "gas", "electric")]
    types = []
    for i, code in enumerate(("aircon-repair", "boiler-service", "install", "inspection")):
        st, _ = ServiceType.objects.get_or_create(code=code, defaults={"name": code.replace("-", " ").title()})
        types.append(st)
        if i < 2:
            ServiceTypeSkill.objects.get_or_create(service_type=st, skill=skills[i], defaults={"min_level": 2})
    partner, _ = PartnerCompany.objects.get_or_create(name="Bench Partner")
    PartnerScope.objects.get_or_create(partner_company=partner, service_type=types[0], city="")
    customer, _ = Customer.objects.get_or_create(phone="+8613900001111", defaults={"name": "Bench customer"})
    Group.objects.get_or_create(name=R.TECHNICIAN)
    Group.objects.get_or_create(name=R.DISPATCHER)
    sites = []
    rng = random.Random(5)
    cities = ["Shanghai", "Suzhou", "Hangzhou"]
    for i in range(300):
        sites.append(
            Site(customer=customer, address=f"{i} Bench Road", city=cities[i % 3],
                 latitude=round(31.0 + rng.random() * 0.6, 6), longitude=round(121.2 + rng.random() * 0.6, 6))
        )
    sites = Site.objects.bulk_create(sites)
    return skills, types, partner, customer, sites


def _make_technicians(count, *, prefix, skills, partner, rng, today):
    from django.contrib.auth.models import Group, User

    from core import roles as R
    from technicians.models import Shift, Technician, TechnicianSkill

    users = User.objects.bulk_create([User(username=f"{prefix}{i}", first_name=f"Tech {prefix}{i}") for i in range(count)])
    Group.objects.get(name=R.TECHNICIAN).user_set.add(*users)
    techs = Technician.objects.bulk_create(
        [
            Technician(
                user=u,
                partner_company=partner if i % 10 == 0 else None,
                home_latitude=round(31.0 + rng.random() * 0.6, 6),
                home_longitude=round(121.2 + rng.random() * 0.6, 6),
                phone=f"+861380000{i:04d}",
            )
            for i, u in enumerate(users)
        ]
    )
    TechnicianSkill.objects.bulk_create(
        [TechnicianSkill(technician=t, skill=s, level=rng.randint(1, 5)) for t in techs for s in skills if rng.random() < 0.6]
    )
    shifts = []
    for i, t in enumerate(techs):
        if i % 3 == 0:  # a third keep a rota; the rest have none (always available)
            shifts.append(Shift(technician=t, weekday=today.weekday(), start=dt.time(8), end=dt.time(20)))
    Shift.objects.bulk_create(shifts)
    return techs


def _new_orders(count, *, types, customer, sites, rng, now, status="new", techs=None, windows=True, sla_clock=False):
    """Work orders in bulk; ``sla_clock``: with the SLA columns intake sets (workorders.sla)."""
    from workorders.models import WorkOrder
    from workorders.sla import sla_fields_for_new

    objs = []
    for i in range(count):
        site = sites[rng.randrange(len(sites))]
        start = end = None
        if windows and i % 3 == 0:
            start = (now + dt.timedelta(hours=rng.randint(1, 8))).replace(minute=0, second=0, microsecond=0)
            end = start + dt.timedelta(hours=2)
        priority, service_type = rng.randint(1, 4), types[rng.randrange(len(types))]
        created_at = now - dt.timedelta(minutes=rng.randint(1, 3000))
        clock = {}
        if sla_clock:
            clock = sla_fields_for_new(
                priority=priority, customer_tier=customer.tier, service_type_id=service_type.pk, now=created_at
            )
        objs.append(
            WorkOrder(
                status=status, priority=priority, customer=customer, site=site,
                service_type=service_type, contact_name="Bench", contact_phone=customer.phone,
                address=site.address, description="bench", preferred_start=start, preferred_end=end,
                created_at=created_at, technician=techs[i % len(techs)] if techs else None, **clock,
            )
        )
    return WorkOrder.objects.bulk_create(objs, batch_size=5000)


# --------------------------------------------------------------- 1. auto-assign


class _QueryCounter:
    def __init__(self, timed=False):
        self.count = 0
        self.timed = timed
        self.timings = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if not self.timed:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.timings.append(((time.perf_counter() - started) * 1000, sql))


def bench_auto_assign(args):
    from django.db import connection
    from django.utils import timezone

    from dispatch.auto_assign import dispatch_auto_assign
    from technicians.models import Technician
    from notifications.models import Notification
    from workorders.models import WorkOrder, WorkOrderEvent

    rng = random.Random(1)
    now = timezone.now()
    skills, types, partner, customer, sites = _setup_reference()
    clock = "without SLA clocks" if args.no_sla_clock else "with SLA clocks running"
    log(f"\n## Automatic assignment: {args.orders} orders ({clock}) × {args.technicians} technicians, "
        f"capacity {args.capacity}\n")
    log("| run | assigned | left | conflicts | optimal | load s | solve s | explain s | write s | total s | queries "
        "| in SQL s | Python CPU s | write: lock s | check s | update+insert+commit s | events | outbox |")
    log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for run in range(args.runs):
        Technician.objects.update(active=False)  # previous runs' technicians are full
        _make_technicians(args.technicians, prefix=f"r{run}-", skills=skills, partner=partner, rng=rng,
                          today=timezone.localdate(now))
        _new_orders(args.orders, types=types, customer=customer, sites=sites, rng=rng, now=now,
                    sla_clock=not args.no_sla_clock)
        with connection.cursor() as cursor:
            # Statistics, as autovacuum keeps them on a live table (a brand-new one has none).
            cursor.execute("ANALYZE workorders_workorder")
        events_before, outbox_before = WorkOrderEvent.objects.count(), Notification.objects.count()
        counter = _QueryCounter(timed=True)
        cpu = time.process_time()
        with connection.execute_wrapper(counter):
            result = dispatch_auto_assign()
        cpu = time.process_time() - cpu
        in_sql = sum(ms for ms, _sql in counter.timings) / 1000
        events = WorkOrderEvent.objects.count() - events_before
        outbox = Notification.objects.count() - outbox_before
        t = result.timings
        w = t["write_parts"]  # workorders_assign_many's own split of the write
        rows.append((t, w, counter.count, in_sql, cpu))
        log(f"| {run + 1} | {len(result.assigned)} | {len(result.unassigned)} | {len(result.conflicts)} | "
            f"{result.optimal} | {t['load']:.3f} | {t['solve']:.3f} | {t['explain']:.3f} | {t['write']:.3f} | "
            f"{t['total']:.3f} | "
            f"{counter.count} | {in_sql:.3f} | {cpu:.3f} | {w['lock']:.3f} | {w['check']:.3f} | {w['write']:.3f} | "
            f"{events} | {outbox} |")
        # What is left goes before the next run's orders: close it so each run starts with a clean queue.
        WorkOrder.objects.filter(status="new").update(status="cancelled")
    med = statistics.median
    log(f"| median | | | | | {med(r[0]['load'] for r in rows):.3f} | {med(r[0]['solve'] for r in rows):.3f} | "
        f"{med(r[0]['explain'] for r in rows):.3f} | "
        f"{med(r[0]['write'] for r in rows):.3f} | {med(r[0]['total'] for r in rows):.3f} | "
        f"{med(r[2] for r in rows):.0f} | {med(r[3] for r in rows):.3f} | {med(r[4] for r in rows):.3f} | "
        f"{med(r[1]['lock'] for r in rows):.3f} | "
        f"{med(r[1]['check'] for r in rows):.3f} | {med(r[1]['write'] for r in rows):.3f} | | |")
    log("\nslowest statements of the last run:")
    for ms, sql in sorted(counter.timings, reverse=True)[:6]:
        log(f"    {ms:6.1f} ms  {sql[:110]}")


# --------------------------------------------------------------- 2. the board


def bench_board(args):
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from core import roles as R
    from workorders.models import WorkOrder

    rng = random.Random(2)
    now = timezone.now()
    log(f"\n## Dispatch board: {args.work_orders:,} work orders, {args.board_technicians} technicians\n")
    if args.reuse and WorkOrder.objects.count() >= args.work_orders:
        log(f"reusing {WorkOrder.objects.count():,} work orders")
    else:
        _seed_board(args, rng, now)
    user = User.objects.filter(username="bench-dispatcher").first() or User.objects.create_user("bench-dispatcher")
    user.groups.add(Group.objects.get(name=R.DISPATCHER))
    client = Client()
    client.force_login(user)
    for path in ("/dispatch/", "/dispatch/board.json"):
        client.get(path)
        timer = _QueryCounter(timed=True)
        with connection.execute_wrapper(timer):
            response = client.get(path)
        assert response.status_code == 200, response.status_code
        times = []
        for _ in range(5):
            client.get(path)  # warm up
        for _ in range(args.requests):
            t0 = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        log(f"| {path} | {timer.count} queries | p50 {statistics.median(times):.0f} ms | p95 {p95:.0f} ms | "
            f"{len(response.content) // 1024} KiB |")
        for ms, sql in sorted(timer.timings, reverse=True)[:3]:
            log(f"    {ms:6.1f} ms  {sql[:160]}")


def _seed_board(args, rng, now):
    from django.db import connection
    from django.utils import timezone

    from technicians.models import Technician
    from workorders.models import WorkOrder

    skills, types, partner, customer, sites = _setup_reference()
    Technician.objects.update(active=False)
    techs = _make_technicians(args.board_technicians, prefix="board-", skills=skills, partner=partner, rng=rng,
                              today=timezone.localdate(now))
    have = WorkOrder.objects.count()
    missing = max(0, args.work_orders - have)
    log(f"adding {missing:,} closed work orders ...")
    started = time.perf_counter()
    batch = 20000
    for offset in range(0, missing, batch):
        _new_orders(min(batch, missing - offset), types=types, customer=customer, sites=sites, rng=rng,
                    now=now - dt.timedelta(days=30), status="closed", techs=techs, windows=False)
    _new_orders(1000, types=types, customer=customer, sites=sites, rng=rng, now=now)  # the queue
    # Today's open jobs: up to five per technician, some with appointments today.
    jobs = []
    for i, t in enumerate(techs):
        for k in range(i % 5):
            start = now.replace(hour=8, minute=0, second=0, microsecond=0) + dt.timedelta(hours=2 * k)
            jobs.append(WorkOrder(
                status=["assigned", "accepted", "en_route", "in_progress"][k % 4], priority=2, customer=customer,
                site=sites[(i + k) % len(sites)], service_type=types[k % len(types)], contact_name="Bench",
                contact_phone=customer.phone, address="x", description="bench", technician=t,
                appointment_start=start, appointment_end=start + dt.timedelta(hours=1, minutes=30),
            ))
    WorkOrder.objects.bulk_create(jobs, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"seeded in {time.perf_counter() - started:.0f} s; {WorkOrder.objects.count():,} work orders")


if __name__ == "__main__":
    main()
