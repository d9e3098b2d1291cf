"""Benchmark: how late after its deadline an escalation fires, with a real Celery worker and beat.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_sla REDIS_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python bench/escalation_latency.py [--orders 60] [--spread 240] [--load 3]

Target (issue 5): an escalation fires within 90 seconds of its deadline under normal load.

What it does, on the database and Redis named by the environment:

1. Migrates; adds a service type ``bench-latency`` whose SLA policy (24x7) gives the
   first response ``--target-minutes`` minutes, with one escalation level at 100%
   that emails the dispatchers.
2. Starts a Celery worker (prefork, ``--concurrency`` processes) and beat as the
   production compose file does, with the production schedule: the escalation sweep
   every ``SLA_SWEEP_SECONDS`` (60 unless ``--sweep-seconds`` says otherwise), on a
   queue of its own (deleted at the end).
3. Starts the background load: another process creating work orders and taking them
   through assign, accept, depart, arrive and complete at about ``--load`` orders a
   second, whose notifications the same worker delivers.
4. Creates ``--orders`` work orders at an even pace over ``--spread`` seconds, so
   their deadlines fall due over as many seconds, at moments unrelated to beat's.
5. Waits until each has its escalation, then prints, for every order, how long after
   its deadline the escalation row was written (``fired_at - due_at``) and its email
   sent (``sent_at - due_at``): median, 95th percentile and maximum.

With a sweep every 60 s the expected delay is spread evenly over 0-60 s, plus the
sweep's own time and the wait for a worker process; the other programs on the
machine add to the last two.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Messages go nowhere: this measures when they are sent, not the mail server.
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
os.environ.setdefault("SMS_API_URL", "")
os.environ.setdefault("NOTIFY_WEBHOOK_URL", "")


def log(message=""):
    print(message, flush=True)


def setup_django(queue: str):
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = queue
    import django

    django.setup()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def load_generator(args):
    """The background load (runs as a subprocess of the benchmark until it is stopped)."""
    setup_django(args.queue)
    from core import roles as R
    from workorders.services import workorder_create, workorder_transition

    service_type, customers, technicians = _load_data()
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    i, started = 0, time.monotonic()
    while not stop:
        customer, site = customers[i % len(customers)]
        tech = technicians[i % len(technicians)]
        wo, _ = workorder_create(
            channel="phone", contact_name=customer.name, contact_phone=customer.phone, contact_email=customer.email,
            address=site.address, service_type=service_type, description="Background load.", customer=customer,
            site=site, actor_role=R.AGENT,
        )
        workorder_transition(work_order_id=wo.pk, action="assign", actor_role=R.SYSTEM, technician_id=tech.pk)
        for action in ("accept", "depart", "arrive", "complete"):
            workorder_transition(work_order_id=wo.pk, action=action, actor=tech.user)
        i += 1
        ahead = started + i / args.load - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    from notifications.services import PUBLISHER

    PUBLISHER.flush()
    print(f"background load: {i} work orders created and resolved in {time.monotonic() - started:.0f} s", flush=True)


def _load_data():
    from django.contrib.auth.models import Group, User

    from customers.models import Customer, Site
    from technicians.models import Technician
    from catalog.models import ServiceType

    service_type, _ = ServiceType.objects.get_or_create(code="bench-load", defaults={"name": "Bench load"})
    customers = []
    for i in range(50):
        customer, _ = Customer.objects.get_or_create(
            phone=f"+8613{500000000 + i:09d}",
            defaults={"name": f"bench-load-{i}", "email": f"bench-load-{i}@example.com"},
        )
        site = Site.objects.filter(customer=customer).first() or Site.objects.create(
            customer=customer, address=f"{i} Load Road, Shanghai", city="Shanghai", latitude=31.2, longitude=121.5
        )
        customers.append((customer, site))
    group, _ = Group.objects.get_or_create(name="technician")
    technicians = []
    for i in range(20):
        user, created = User.objects.get_or_create(username=f"bench-load-tech-{i}")
        if created:
            user.groups.add(group)
        tech, _ = Technician.objects.get_or_create(
            user=user, defaults={"phone": f"+8613{400000000 + i:09d}", "home_latitude": 31.2, "home_longitude": 121.5}
        )
        technicians.append(tech)
    return service_type, customers, technicians


def setup_policy(target_minutes: int):
    from django.contrib.auth.models import Group, User

    from catalog.models import ServiceType
    from sla.models import BusinessCalendar, EscalationLevel, EscalationMatrix, SlaPolicy

    service_type, _ = ServiceType.objects.get_or_create(code="bench-latency", defaults={"name": "Bench latency"})
    calendar, _ = BusinessCalendar.objects.get_or_create(code="bench-24x7", defaults={"name": "24x7",
                                                                                     "always_open": True})
    matrix, _ = EscalationMatrix.objects.get_or_create(name="bench latency")
    EscalationLevel.objects.get_or_create(matrix=matrix, percent=100, defaults={
        "name": "Deadline passed", "notify_roles": "dispatcher", "notify_webhook": False})
    SlaPolicy.objects.update_or_create(name="bench latency", defaults={
        "service_type": service_type, "calendar": calendar, "first_response_minutes": target_minutes,
        "arrival_minutes": None, "resolution_minutes": None, "escalation_matrix": matrix, "active": True})
    group, _ = Group.objects.get_or_create(name="dispatcher")
    for i in range(3):
        user, created = User.objects.get_or_create(username=f"bench-latency-dispatcher-{i}",
                                                   defaults={"email": f"bench-latency-{i}@example.com"})
        if created:
            user.groups.add(group)
    return service_type


class Processes:
    def __init__(self, tmp: Path, env: dict):
        self.tmp, self.env, self.procs = tmp, env, {}

    def spawn(self, name, args):
        out = open(self.tmp / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def log(self, name):
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for(self, name, text, timeout=60):
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            if time.monotonic() > deadline or self.procs[name].poll() is not None:
                sys.exit(f"{name} did not start:\n{self.log(name)[-3000:]}")
            time.sleep(0.3)

    def stop(self, name=None):
        for key in [name] if name else list(self.procs):
            proc = self.procs.pop(key, None)
            if proc is None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=60, help="work orders whose escalation is timed")
    parser.add_argument("--spread", type=int, default=240, help="seconds over which their deadlines fall due")
    parser.add_argument("--target-minutes", type=int, default=2, help="their first-response target")
    parser.add_argument("--load", type=float, default=3.0, help="background work orders per second (0: none)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--sweep-seconds", type=int, default=None, help="override SLA_SWEEP_SECONDS (default 60)")
    parser.add_argument("--load-generator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--queue", default=f"bench-latency-{uuid.uuid4().hex[:8]}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_generator:
        return load_generator(args)

    setup_django(args.queue)
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from core import roles as R
    from customers.models import Customer
    from notifications.models import Notification
    from workorders.models import Escalation
    from workorders.services import workorder_create

    broker = settings.CELERY_BROKER_URL
    call_command("migrate", verbosity=0)
    service_type = setup_policy(args.target_minutes)
    _load_data()
    customer, _ = Customer.objects.get_or_create(phone="+8613300000000", defaults={"name": "Bench latency"})

    tmp = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    env = {**os.environ, "CELERY_TASK_DEFAULT_QUEUE": args.queue, "PYTHONUNBUFFERED": "1"}
    if args.sweep_seconds:
        env["SLA_SWEEP_SECONDS"] = str(args.sweep_seconds)
    sweep_every = int(env.get("SLA_SWEEP_SECONDS") or settings.SLA_SWEEP_SECONDS)
    procs = Processes(tmp, env)
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    log(f"broker {broker.split('@')[-1]}, queue {args.queue}, sweep every {sweep_every} s, logs in {tmp}")
    try:
        procs.spawn("worker", [*celery, "worker", "-Q", args.queue, "-n", f"{args.queue}@%h", "--loglevel=INFO",
                               f"--concurrency={args.concurrency}", "--without-gossip", "--without-mingle"])
        procs.wait_for("worker", " ready.")
        procs.spawn("beat", [*celery, "beat", "--loglevel=INFO", f"--schedule={tmp / 'beat-schedule'}"])
        procs.wait_for("beat", "Starting...")
        if args.load > 0:
            procs.spawn("load", [sys.executable, __file__, "--load-generator", "--queue", args.queue,
                                 "--load", str(args.load)])
        log(f"creating {args.orders} work orders over {args.spread} s; each is due {args.target_minutes} min later")
        ids, started = [], time.monotonic()
        for i in range(args.orders):
            ahead = started + i * args.spread / args.orders - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            wo, _ = workorder_create(
                channel="phone", contact_name="Bench", contact_phone=customer.phone, address="1 Latency Road",
                service_type=service_type, description="Timed escalation.", customer=customer, actor_role=R.AGENT,
            )
            assert wo.next_escalation_at is not None, "the bench policy did not apply"
            ids.append(wo.pk)
        last_due = timezone.now() + timedelta(minutes=args.target_minutes)
        log(f"created; the last deadline is at {timezone.localtime(last_due):%H:%M:%S}; waiting for the escalations")
        give_up = time.monotonic() + (last_due - timezone.now()).total_seconds() + sweep_every + 120
        while Escalation.objects.filter(work_order_id__in=ids).count() < len(ids) and time.monotonic() < give_up:
            time.sleep(2)
        # And their emails (the worker sends them after the sweep commits).
        while (Notification.objects.filter(subject_id__in=ids, template="escalation", sent_at__isnull=True)
               .exists() and time.monotonic() < give_up + 60):
            time.sleep(1)
    finally:
        procs.stop("load")
        procs.stop()
        try:
            import redis

            if broker.startswith("redis"):
                client = redis.Redis.from_url(broker)
                client.delete(args.queue, f"_kombu.binding.{args.queue}", f"_kombu.binding_permanent.{args.queue}")
                client.close()
        except Exception as exc:  # noqa: BLE001 (cleanup only)
            log(f"(could not delete queue {args.queue}: {exc})")
    load_line = [line for line in procs.log("load").splitlines() if line.startswith("background load")]
    if load_line:
        log(load_line[-1])

    fired = {e.work_order_id: e for e in Escalation.objects.filter(work_order_id__in=ids)}
    missing = [pk for pk in ids if pk not in fired]
    delays = [(e.fired_at - e.due_at).total_seconds() for e in fired.values()]
    sent = {}
    for n in Notification.objects.filter(subject_id__in=ids, template="escalation", sent_at__isnull=False):
        sent[n.work_order_id] = max(sent.get(n.work_order_id, n.sent_at), n.sent_at)
    mail = [(sent[pk] - fired[pk].due_at).total_seconds() for pk in fired if pk in sent]
    sweeps = [line for line in procs.log("worker").splitlines()
              if "sla_escalation_sweep" in line and "succeeded" in line]
    log(f"{len(fired)} of {len(ids)} escalations fired; {len(sweeps)} sweeps ran")
    if missing:
        log(f"NOT fired: {missing}")
    for label, values in (("escalation row written", delays), ("last email sent", mail)):
        if values:
            log(f"{label}, seconds after the deadline: median {statistics.median(values):.1f}, "
                f"p95 {percentile(values, 95):.1f}, max {max(values):.1f}, min {min(values):.1f} (n={len(values)})")
    verdict = "within" if delays and not missing and max(delays) <= 90 else "NOT within"
    log(f"-> {verdict} the 90 s target")


if __name__ == "__main__":
    main()
