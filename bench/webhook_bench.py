"""Benchmark: webhook delivery latency and throughput, and what a receiver outage does (issue 17).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_wh REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/webhook_bench.py [--orders 200] [--in-flight 10] [--rate 0] [--concurrency 2]
    # the receiver down (answering 503) for the first ten minutes, then back:
    ... bench/webhook_bench.py --orders 200 --outage 600 [--outage-mode 503|refuse]

Figures (docs/operations.md, "Webhooks: delivery figures and receiver outages"): deliveries per
second, latency from the change's commit to its receipt (p50/p95/max), order per work order
(violations, must be 0), signature failures (must be 0), duplicates and deliveries lost; with
``--outage``, the attempts made while the receiver was down, the backoff seen by one delivery,
and the time from the receiver's recovery to the last delivery.

Measured 2026-12-06 (2-core machine shared with other work, load 7-10; 200 orders, 2,400
deliveries, a 2-process worker): ``--rate 1`` 12.0 deliveries/s, commit -> receipt p50 997 ms,
p95 1,476 ms, max 2,575 ms; as fast as the driver goes, 23.3 deliveries/s (behind the 48 rows/s
written: p50 30 s); ``--outage 600``: 600 attempts answered 503, every delivery received after
recovery within 108 s (23.5/s); ``--outage 120 --outage-mode refuse``: within 76 s (31.9/s).
Every run: 0 order violations, 0 signature failures, 0 duplicates, 0 lost.

Method. The script starts a receiver of its own (a threaded HTTP server on 127.0.0.1 that
verifies every request's signature with the ``standardwebhooks`` package and records when it
arrived), registers a webhook endpoint for every event type (the bench's endpoints of earlier
runs are switched off first), and starts a real Celery worker as a subprocess
(``celery -A config worker -B``: the outbox's delivery tasks and, through the embedded beat, its
retry sweep every ``OUTBOX_SWEEP_SECONDS``) on a queue of its own, deleted afterwards. It then
drives ``--orders`` work orders through their whole life in the service layer, as the pages and
the API do: ``workorder_create`` (phone intake), ``assign``, ``accept``, ``depart``, ``arrive``,
``complete`` (moving on to follow-up) and the customer's survey answer, which closes the order:
twelve events per order (created, status changed x7, assigned, completed, survey answered,
closed). ``--in-flight`` orders advance together, a step each in turn, so that one order's
events are a few transitions apart, as on a busy day; ``--rate`` spaces the steps evenly (work
orders per second), without it the driver goes as fast as it can and the worker falls behind. Each change commits its outbox rows in its
own transaction; after commit the rows are handed to the worker (batched per process,
``OUTBOX_ENQUEUE_BATCH_MS``), which signs and POSTs them.

Latency: from the outbox row's ``created_at`` (set in the change's transaction, a few
milliseconds before its commit) to the moment the receiver got the request it answered 2xx.
Throughput: deliveries answered 2xx per second, from the first row's creation to the last
receipt (``drive`` says how long writing them took, so whether the worker kept up shows).
Order: for each work order, the receipts (the first 2xx of each delivery) sorted by arrival
must be in the order the rows were written. Duplicates: deliveries answered 2xx more than once
(the same ``webhook-id``). Lost: rows not received when the outbox has nothing left to send.

Outage (``--outage SECONDS``): the receiver is down from the first order on, answering 503
(``--outage-mode refuse``: not listening at all, so connections are refused) for that long,
then answers 200 again. Printed besides: the attempts made during the outage, the attempts of
the delivery that tried most (its times show the backoff), whether the endpoint was disabled,
and the drain: from recovery to the last receipt.

Needs PostgreSQL and Redis. Migrates the database if needed and adds its own service type,
customers and technicians (``bench-webhook-*``); the work orders stay (closed), so use a database
meant for benchmarks. Nothing is sent anywhere but to the script's own receiver.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
QUEUE = f"bench-webhook-{uuid.uuid4().hex[:8]}"
os.environ["CELERY_TASK_DEFAULT_QUEUE"] = QUEUE  # the driver's tasks and the worker's, on our queue only
os.environ["WEBHOOK_ALLOW_PRIVATE_URLS"] = "1"  # the receiver listens on 127.0.0.1

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from bench.common import bench_people  # noqa: E402
from standardwebhooks.webhooks import Webhook  # noqa: E402

from config.celery import app as celery_app  # noqa: E402
from core import roles as R  # noqa: E402
from notifications import webhooks  # noqa: E402
from notifications.models import Notification, WebhookAttempt, WebhookEndpoint  # noqa: E402
from notifications.services import PUBLISHER  # noqa: E402
from workorders.models import Survey, WorkOrder  # noqa: E402
from workorders.services import workorder_create, workorder_transition  # noqa: E402
from workorders.survey import survey_answer  # noqa: E402


# --- The receiver ------------------------------------------------------------------------------


class Receiver:
    """Verifies each request's signature and records (webhook-id, arrival, status answered).
    ``down_until`` (a ``time.time()``): answer 503 before it; ``refuse``: stop listening instead."""

    def __init__(self, secret: str):
        self.verifier = Webhook(secret)
        self.lock = threading.Lock()
        self.records: list[dict] = []  # every request, in arrival order
        self.bad_signatures = 0
        self.down_until = 0.0
        self.server = None
        self.port = 0
        self._start()

    def _start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                arrived = time.time()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                down = arrived < receiver.down_until
                verified = True
                if not down:
                    try:
                        receiver.verifier.verify(raw, dict(self.headers))
                    except Exception:
                        verified = False
                status = 503 if down else (200 if verified else 400)
                with receiver.lock:
                    if not verified:
                        receiver.bad_signatures += 1
                    receiver.records.append({"id": self.headers.get("webhook-id"), "at": arrived,
                                             "status": status, "body": raw if status == 200 else None})
                answer = b"ok" if status == 200 else b"down" if down else b"bad signature"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def restart(self):
        self._start()  # on the same port (the server sets SO_REUSEADDR)

    def received(self) -> dict[str, list[float]]:
        """webhook-id -> the arrival times of the requests answered 200."""
        out: dict[str, list[float]] = defaultdict(list)
        with self.lock:
            for record in self.records:
                if record["status"] == 200:
                    out[record["id"]].append(record["at"])
        return out


# --- Setup, the worker, the queue -------------------------------------------------------------


def setup(n_customers: int, n_technicians: int):
    return bench_people("bench-webhook", n_customers=n_customers, n_technicians=n_technicians,
                        customer_phones=500_000_000, technician_phones=400_000_000, street="Hook Road")


def start_worker(concurrency: int, sweep_seconds: int, workdir: Path) -> tuple[subprocess.Popen, Path]:
    """``celery -A config worker -B`` on the bench's queue; returns once it is ready."""
    log = workdir / "worker.log"
    env = {**os.environ, "OUTBOX_SWEEP_SECONDS": str(sweep_seconds)}
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "-s", str(workdir / "beat-schedule"),
               "-Q", QUEUE, "-c", str(concurrency), "-n", f"{QUEUE}@%h", "-l", "info", "--without-gossip",
               "--without-mingle"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the worker exited ({process.returncode}); see {log}")
        if " ready." in log.read_text(errors="replace"):
            return process, log
        time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"the worker did not get ready in 120 s; see {log}")


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the worker, its children and beat
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def drop_queue() -> None:
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


# --- Driving work orders ---------------------------------------------------------------------


def order_steps(i: int, service_type, customers, technicians):
    """The life of one work order, a step per ``next()``."""
    customer, site = customers[i % len(customers)]
    tech = technicians[i % len(technicians)]
    wo, _ = workorder_create(
        channel=WorkOrder.Channel.PHONE, contact_name=customer.name, contact_phone=customer.phone,
        contact_email=customer.email, address=site.address, service_type=service_type,
        description="The air conditioner drips water.", language=customer.language,
        customer=customer, site=site, actor_role=R.AGENT,
    )
    yield wo.pk
    workorder_transition(work_order_id=wo.pk, action="assign", actor_role=R.SYSTEM, technician_id=tech.pk)
    yield wo.pk
    for action in ("accept", "depart", "arrive", "complete"):
        workorder_transition(work_order_id=wo.pk, action=action, actor=tech.user)
        yield wo.pk
    survey = Survey.objects.get(work_order_id=wo.pk)
    survey_answer(token=survey.token, satisfaction=5, solved=True, comment="Fine.")
    yield wo.pk


STEPS = 7  # per order: create, assign, accept, depart, arrive, complete, the survey's answer


def drive(n: int, in_flight: int, data, rate: float = 0) -> None:
    """``n`` work orders through their life, ``in_flight`` at a time, a step each in turn;
    ``rate``: orders per second (its steps evenly spaced), 0: as fast as this process goes."""
    pending, started, steps = [], 0, 0
    t0 = time.perf_counter()
    while started < n or pending:
        while started < n and len(pending) < in_flight:
            pending.append(order_steps(started, *data))
            started += 1
        still = []
        for order in pending:
            if rate:
                wait = t0 + steps / (rate * STEPS) - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            try:
                next(order)
            except StopIteration:
                continue
            steps += 1
            still.append(order)
        pending = still


# --- Reading the outcome ---------------------------------------------------------------------


def pct(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(q / 100 * len(values)) - 1))]


def wait_drained(endpoint: WebhookEndpoint, receiver: Receiver, total: int, timeout: float) -> bool:
    """Until every row of the endpoint is sent or failed and the receiver has them all (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    last_print = 0.0
    while time.monotonic() < deadline:
        left = Notification.objects.filter(channel=Notification.Channel.ENDPOINT, recipient=str(endpoint.pk),
                                           status__in=["pending", "sending"]).count()
        got = len(receiver.received())
        if left == 0 and got >= total:
            return True
        if time.monotonic() - last_print > 30:
            print(f"  ... {time.strftime('%H:%M:%S', time.gmtime())} UTC {left:,} rows still to send, {got:,}/{total:,} received",
                  flush=True)
            last_print = time.monotonic()
        time.sleep(0.5)
    return False


def report(endpoint, receiver, rows, *, drive_seconds, recovered_at=None, outage=0):
    ids = {webhooks.message_id(row): row for row in rows}
    received = receiver.received()
    first = {msg_id: min(times) for msg_id, times in received.items()}
    lost = [row for msg_id, row in ids.items() if msg_id not in first]
    unknown = [msg_id for msg_id in first if msg_id not in ids]
    duplicates = sum(1 for times in received.values() if len(times) > 1)

    latencies = [first[m] - row.created_at.timestamp() for m, row in ids.items() if m in first]
    start = min(row.created_at.timestamp() for row in rows)
    end = max(first.values()) if first else start
    violations = 0
    by_order: dict[int, list] = defaultdict(list)
    for msg_id, row in ids.items():
        if msg_id in first:
            by_order[row.subject_id].append((first[msg_id], row.pk))
    for receipts in by_order.values():
        in_arrival = [pk for _at, pk in sorted(receipts)]
        violations += sum(1 for a, b in zip(in_arrival, in_arrival[1:]) if a > b)
    statuses = Counter(Notification.objects.filter(pk__in=[r.pk for r in rows]).values_list("status", flat=True))
    attempts = WebhookAttempt.objects.filter(endpoint=endpoint)
    endpoint.refresh_from_db()

    print()
    print(f"deliveries: {len(rows):,} rows for {len(by_order):,} work orders "
          f"({Counter(r.payload['type'] for r in rows).most_common()})")
    print(f"outbox rows by state: {dict(statuses)}; attempts logged: {attempts.count():,} "
          f"({attempts.exclude(status_code=200).count():,} not 200)")
    print(f"drive: {drive_seconds:.1f} s ({len(rows) / drive_seconds:.1f} rows written/s)")
    print(f"throughput: {len(first):,} delivered in {end - start:.1f} s from the first row's commit to the last "
          f"receipt = {len(first) / max(end - start, 1e-9):.1f} deliveries/s")
    if not outage:
        print(f"latency commit -> receipt: p50 {1000 * pct(latencies, 50):.0f} ms, p95 {1000 * pct(latencies, 95):.0f} ms, "
              f"p99 {1000 * pct(latencies, 99):.0f} ms, max {1000 * max(latencies, default=0):.0f} ms")
    print(f"order per work order: {violations} violations; signature failures: {receiver.bad_signatures}; "
          f"duplicates: {duplicates}; lost: {len(lost)}; unknown ids received: {len(unknown)}")
    if outage:
        down = [r for r in receiver.records if r["status"] == 503]
        most = max(rows, key=lambda r: WebhookAttempt.objects.filter(delivery_id=r.pk).count())
        times = list(WebhookAttempt.objects.filter(delivery_id=most.pk).order_by("id")
                     .values_list("attempted_at", "status_code"))
        t0 = times[0][0]
        schedule = ", ".join(f"+{(at - t0).total_seconds():.0f}s {code}" for at, code in times)
        after = [first[m] for m in first if first[m] >= recovered_at]
        print(f"outage: {outage} s; {len(down):,} requests answered 503 (refused connections are not counted "
              f"by the receiver; the delivery log has them)")
        print(f"the delivery tried most ({most.payload['type']} of work order {most.subject_id}): "
              f"{len(times)} attempts at {schedule}")
        print(f"endpoint after the outage: active={endpoint.is_active}, failing_since={endpoint.failing_since}")
        if after:
            print(f"drain: {len(after):,} delivered after recovery, the first {min(after) - recovered_at:.1f} s and "
                  f"the last {max(after) - recovered_at:.1f} s after it "
                  f"({len(after) / max(max(after) - min(after), 1e-9):.1f} deliveries/s meanwhile)")
        latencies_after = [first[m] - ids[m].created_at.timestamp() for m in first if m in ids]
        print(f"latency commit -> receipt: p50 {pct(latencies_after, 50):.0f} s, max {max(latencies_after):.0f} s")
    return {"violations": violations, "bad": receiver.bad_signatures, "duplicates": duplicates, "lost": len(lost)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=10, help="work orders advancing together")
    parser.add_argument("--rate", type=float, default=0,
                        help="work orders per second (12 deliveries each); 0: as fast as the driver goes")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--sweep-seconds", type=int, default=settings.OUTBOX_SWEEP_SECONDS,
                        help="the outbox retry sweep's period (OUTBOX_SWEEP_SECONDS)")
    parser.add_argument("--outage", type=int, default=0, help="seconds the receiver is down from the start")
    parser.add_argument("--outage-mode", choices=["503", "refuse"], default="503")
    parser.add_argument("--drain-timeout", type=int, default=None, help="seconds to wait for the last delivery")
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--technicians", type=int, default=40)
    args = parser.parse_args()

    print(f"broker {settings.CELERY_BROKER_URL.split('@')[-1]} queue {QUEUE}; "
          f"{WorkOrder.objects.count():,} work orders in the table", flush=True)
    data = setup(args.customers, args.technicians)
    WebhookEndpoint.objects.filter(name__startswith="bench-webhook").update(is_active=False)
    secret = webhooks.secret_new()
    receiver = Receiver(secret)
    endpoint = WebhookEndpoint.objects.create(
        name=f"bench-webhook-{QUEUE[-8:]}", url=receiver.url, secret=secret, events=list(WebhookEndpoint.Event.values),
    )
    workdir = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
    worker, log = start_worker(args.concurrency, args.sweep_seconds, workdir)
    print(f"receiver {receiver.url}; worker pid {worker.pid} (-c {args.concurrency}, sweep every "
          f"{args.sweep_seconds} s, log {log})", flush=True)
    recovered_at = None
    timer = None
    try:
        before = Notification.objects.filter(recipient=str(endpoint.pk)).count()
        assert before == 0
        if args.outage:
            receiver.down_until = time.time() + args.outage
            recovered_at = receiver.down_until
            if args.outage_mode == "refuse":
                receiver.stop()
                timer = threading.Timer(args.outage, receiver.restart)
                timer.start()
            print(f"receiver down ({args.outage_mode}) for {args.outage} s, until "
                  f"{time.strftime('%H:%M:%S', time.gmtime(recovered_at))} UTC", flush=True)
        t0 = time.perf_counter()
        drive(args.orders, args.in_flight, data, args.rate)
        drive_seconds = time.perf_counter() - t0
        PUBLISHER.flush()
        rows = list(Notification.objects.filter(channel=Notification.Channel.ENDPOINT, recipient=str(endpoint.pk))
                    .order_by("id"))
        print(f"driven: {args.orders} work orders, {len(rows):,} deliveries written in {drive_seconds:.1f} s", flush=True)
        timeout = args.drain_timeout or (args.outage + 3600 if args.outage else 600)
        drained = wait_drained(endpoint, receiver, len(rows), timeout)
        if not drained:
            print(f"NOT drained within {timeout} s")
        time.sleep(2)  # a late duplicate would show now
        outcome = report(endpoint, receiver, rows, drive_seconds=drive_seconds, recovered_at=recovered_at,
                         outage=args.outage)
    finally:
        if timer is not None:
            timer.cancel()
        stop_worker(worker)
        endpoint.refresh_from_db()
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
        receiver.stop()
        drop_queue()
    ok = not any(outcome.values())
    print("-> " + ("all delivered once, in order, signatures verified" if ok else f"PROBLEMS: {outcome}"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
