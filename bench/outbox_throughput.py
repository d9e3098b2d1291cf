"""Benchmark: creating and resolving work orders with the notification outbox on and off.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_sla REDIS_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python bench/outbox_throughput.py [--rounds 16] [--orders 40]

Target (issue 5): creating and resolving work orders stays within 10% of its
throughput without the outbox.

Each work order goes the whole way through the service layer, as the pages and
the API drive it: ``workorder_create`` (phone intake), then ``assign`` (a
technician SMS), ``accept``, ``depart`` (an SMS and an email to the customer with
the tracking link), ``arrive`` and ``complete``, which moves it on to follow-up
and writes the survey invitation. With the outbox on, those are four outbox rows
in three transactions, each handed to the broker after commit
(``deliver_notifications.apply_async``, to a queue of the benchmark's own that is
deleted afterwards; no worker runs, so delivery costs nothing here). With it off
(``OUTBOX_WRITE_ENABLED=False``, a setting that exists for this benchmark), no
notification row is written or enqueued; everything else is the same.

Rounds of ``--orders`` work orders alternate on, off, off, on, on, off ... (an
ABBA order, so a slow drift of the machine's load hits both equally). Printed per
mode: the median throughput over its rounds (work orders per second of wall
time), and the CPU time per work order of this process plus its PostgreSQL
backend (read from /proc; other programs' load hardly changes it). The wall-time
figures move with whatever else runs on the machine; the ratio of the medians
and the spread of the per-pair ratios say how much.

Needs PostgreSQL. Migrates the database if needed and adds its own service
type, customers and technicians (``bench-outbox-*``); the work orders it creates
stay (closed-out as follow-up orders), so use a database meant for benchmarks.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The benchmark's own queue: what it publishes is deleted at the end, and no worker
# of anybody else's picks it up.
QUEUE = f"bench-outbox-{uuid.uuid4().hex[:8]}"
os.environ["CELERY_TASK_DEFAULT_QUEUE"] = QUEUE

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from bench.common import bench_people, process_cpu_seconds  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from config.celery import app as celery_app  # noqa: E402
from core import roles as R  # noqa: E402
from notifications.models import Notification  # noqa: E402
from notifications.services import PUBLISHER  # noqa: E402
from workorders.models import WorkOrder  # noqa: E402
from workorders.services import workorder_create, workorder_transition  # noqa: E402


def setup(n_customers: int, n_technicians: int):
    return bench_people("bench-outbox", n_customers=n_customers, n_technicians=n_technicians,
                        customer_phones=700_000_000, technician_phones=600_000_000, street="Bench Road")


def drop_queue() -> None:
    """Delete the benchmark's queue (and, on Redis, kombu's binding keys for it)."""
    PUBLISHER.flush()
    try:
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(QUEUE)
        if settings.CELERY_BROKER_URL.startswith("redis"):
            import redis

            client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
            client.delete(QUEUE, f"_kombu.binding.{QUEUE}", f"_kombu.binding_permanent.{QUEUE}")
            client.close()
    except Exception as exc:  # the broker went away: nothing left to clean
        print(f"(could not delete queue {QUEUE}: {exc})")


def one_order(i: int, service_type, customers, technicians) -> None:
    customer, site = customers[i % len(customers)]
    tech = technicians[i % len(technicians)]
    wo, _ = workorder_create(
        channel=WorkOrder.Channel.PHONE, contact_name=customer.name, contact_phone=customer.phone,
        contact_email=customer.email, address=site.address, service_type=service_type,
        description="The air conditioner drips water.", language=customer.language,
        customer=customer, site=site, actor_role=R.AGENT,
    )
    workorder_transition(work_order_id=wo.pk, action="assign", actor_role=R.SYSTEM, technician_id=tech.pk)
    for action in ("accept", "depart", "arrive", "complete"):
        workorder_transition(work_order_id=wo.pk, action=action, actor=tech.user)


def run_round(outbox: bool, n: int, start: int, data, backend_pid: int, batch_ms: int | None = None) -> dict:
    extra = {} if batch_ms is None else {"OUTBOX_ENQUEUE_BATCH_MS": batch_ms}
    with override_settings(OUTBOX_WRITE_ENABLED=outbox, **extra):
        cpu0, db0, t0 = time.process_time(), process_cpu_seconds(backend_pid), time.perf_counter()
        for i in range(start, start + n):
            one_order(i, *data)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        db = process_cpu_seconds(backend_pid) - db0
    return {"outbox": outbox, "wall": wall, "rate": n / wall, "cpu_ms": 1000 * (cpu + db) / n,
            "py_ms": 1000 * cpu / n, "db_ms": 1000 * db / n}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40, help="rounds per mode (even)")
    parser.add_argument("--orders", type=int, default=10, help="work orders per round")
    parser.add_argument("--enqueue-batch-ms", type=int, default=None,
                        help="override OUTBOX_ENQUEUE_BATCH_MS (0: publish inside the request, as before batching)")
    parser.add_argument("--aa", action="store_true",
                        help="calibration: both halves of each pair run with the outbox OFF; any ratio away from "
                             "1.000 is the noise of the machine")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--technicians", type=int, default=50)
    args = parser.parse_args()
    print(f"broker {settings.CELERY_BROKER_URL.split('@')[-1]} queue {QUEUE}; "
          f"{WorkOrder.objects.count():,} work orders in the table", flush=True)
    data = setup(args.customers, args.technicians)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend_pid = cur.fetchone()[0]
    if process_cpu_seconds(backend_pid) != process_cpu_seconds(backend_pid):
        print("(PostgreSQL runs elsewhere: CPU figures are this process only)")

    before = Notification.objects.count()
    # Warm-up: caches, connections, the broker connection.
    run_round(True, 10, 0, data, backend_pid)
    run_round(False, 10, 10, data, backend_pid)
    pattern = [True, False, False, True]
    rounds, start = [], 100
    try:
        for r in range(2 * args.rounds):
            outbox = pattern[r % 4]
            result = run_round(outbox and not args.aa, args.orders, start, data, backend_pid, args.enqueue_batch_ms)
            result["outbox"] = outbox  # (the label; with --aa both halves ran without the outbox)
            start += args.orders
            rounds.append(result)
            print(f"round {r + 1:2d} outbox {'on ' if outbox else 'off'}: {result['rate']:6.1f} orders/s, "
                  f"CPU {result['cpu_ms']:5.1f} ms/order (python {result['py_ms']:.1f} + db {result['db_ms']:.1f})",
                  flush=True)
    finally:
        written = Notification.objects.count() - before
        drop_queue()

    on = [r for r in rounds if r["outbox"]]
    off = [r for r in rounds if not r["outbox"]]
    med = statistics.median
    rate_on, rate_off = med(r["rate"] for r in on), med(r["rate"] for r in off)
    cpu_on, cpu_off = med(r["cpu_ms"] for r in on), med(r["cpu_ms"] for r in off)
    # Each on round against the off round next to it (the ABBA pairs), so that both
    # halves of a pair saw about the same load from the rest of the machine.
    def paired(key):
        out = []
        for i in range(0, len(rounds) - 1, 2):
            a, b = rounds[i], rounds[i + 1]
            on_r, off_r = (a, b) if a["outbox"] else (b, a)
            out.append(on_r[key] / off_r[key])
        return sorted(out)

    def quartiles(values):
        q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
        return f"median {q[1]:.3f} (quartiles {q[0]:.3f}..{q[2]:.3f}, all {values[0]:.3f}..{values[-1]:.3f})"

    rate_pairs, cpu_pairs = paired("rate"), paired("cpu_ms")
    print()
    print(f"outbox rows written: {written:,} ({written / max(len(on) * args.orders + 10, 1):.1f} per order with it on)")
    print(f"throughput, median of {len(on)} rounds of {args.orders} each: on {rate_on:.1f}/s, off {rate_off:.1f}/s "
          f"(round rates on {min(r['rate'] for r in on):.1f}..{max(r['rate'] for r in on):.1f}, "
          f"off {min(r['rate'] for r in off):.1f}..{max(r['rate'] for r in off):.1f})")
    print(f"throughput on/off, per adjacent pair: {quartiles(rate_pairs)}")
    print(f"CPU per order (this process + its PostgreSQL backend), median: on {cpu_on:.1f} ms "
          f"(python {med(r['py_ms'] for r in on):.1f} + db {med(r['db_ms'] for r in on):.1f}), off {cpu_off:.1f} ms "
          f"(python {med(r['py_ms'] for r in off):.1f} + db {med(r['db_ms'] for r in off):.1f})")
    print(f"CPU on/off, per adjacent pair: {quartiles(cpu_pairs)}")
    verdict = "within" if statistics.median(rate_pairs) >= 0.9 else "NOT within"
    print(f"-> with the outbox, throughput is {100 * (1 - statistics.median(rate_pairs)):.1f}% lower "
          f"({verdict} the 10% target)")


if __name__ == "__main__":
    main()
