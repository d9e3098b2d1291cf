"""A day in the life, measured: a peak hour of every role at once, with Celery busy beside the web.

    .venv/bin/python bench/day_in_life.py --database-url postgres://postgres@127.0.0.1:5432/bench \\
        --redis-url redis://127.0.0.1:6379/7 --users 90 --duration 300

What it does, on the database and Redis given (it adds users, technicians and work orders; it
never flushes or reseeds):

1. Migrates; adds the short SLA policy of ``bench/escalation_latency.py`` (service type
   ``bench-latency``: first response in ``--sla-minutes``, one escalation at 100% that emails the
   dispatchers), so that escalations fall due during the run; creates the day's staff
   (``day-agent-N``, ``day-dispatcher-N``, ``day-manager-N``, ``day-tech-N``: technicians with every
   skill and no shifts, each given one job to start with) and logs them in (a session each);
   samples tracking links, callers' phones and search terms from the data; writes the plan the
   locustfile reads (``bench/day/locustfile.py``).
2. Starts ``--web-nodes`` gunicorn servers (``--web-workers`` sync workers each) in production
   settings as ``bench/run.py`` does (DEBUG off, the TLS-only settings off for plain HTTP on
   loopback, the public form's rate limit raised), ``--worker-nodes`` Celery workers
   (``--worker-concurrency`` processes each) and one beat, with the SLA, outbox and reports sweeps
   every ``--sweep-seconds``. Messages go nowhere (email's dummy backend, no SMS or webhook URL):
   the outbox is measured, not a mail server.
3. Runs locust headless for ``--duration`` seconds with ``--users`` users in the stated mix,
   statistics reset once all are started. Meanwhile, every ``--sample-seconds``: the outbox
   backlog and its oldest message's age (``notifications.selectors.outbox_backlog``), the Celery
   queue's length, the load average, and the CPU time of every process (``/proc/<pid>/stat``),
   grouped: PostgreSQL (this database's backends, and the server's shared processes), web,
   workers, beat, locust, and everything else on the machine.
4. Reads the escalations of the orders created during the run (``fired_at - due_at``) and the
   short-SLA orders whose deadline passed without one, prints the table and writes it to
   ``bench/results/day-<timestamp>.md``.

Loopback only: every server binds 127.0.0.1.
"""

import argparse
import csv
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    BENCH, DEFAULT_DB, DEFAULT_REDIS, Context, free_port, log, manage, python_bin, reachable, server_env, tool,
)

LOCUSTFILE = BENCH / "day" / "locustfile.py"
# The day's mix: users of each role per 90 (``--users`` scales it).
MIX = {"customer": 40, "agent": 12, "dispatcher": 4, "technician": 30, "manager": 4}
P95_TARGET_MS = 200
CLK_TCK = os.sysconf("SC_CLK_TCK")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=90, help="users in all (default 90, in the mix of MIX)")
    parser.add_argument("--mix", default="", help="users per role instead, e.g. customer=40,agent=12,dispatcher=4,"
                                                  "technician=30,manager=4")
    parser.add_argument("--duration", type=int, default=300, help="seconds of measured load (default 300)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per second (default 10)")
    parser.add_argument("--web-nodes", type=int, default=2, help="gunicorn servers (default 2)")
    parser.add_argument("--web-workers", type=int, default=2, help="sync workers per gunicorn server (default 2)")
    parser.add_argument("--worker-nodes", type=int, default=2, help="Celery workers (default 2)")
    parser.add_argument("--worker-concurrency", type=int, default=1, help="processes per Celery worker (default 1)")
    parser.add_argument("--sweep-seconds", type=int, default=10, help="SLA, outbox and reports sweeps (default 10)")
    parser.add_argument("--sla-minutes", type=int, default=2, help="first-response target of the short policy")
    parser.add_argument("--short-share", type=float, default=0.25,
                        help="share of the created orders under the short policy (default 0.25)")
    parser.add_argument("--sample-seconds", type=float, default=5)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    args = parser.parse_args(argv)
    if args.mix:
        args.mix = {k.strip(): int(v) for k, v in (part.split("=") for part in args.mix.split(","))}
    else:
        args.mix = {role: max(1, round(n * args.users / sum(MIX.values()))) for role, n in MIX.items()}
    args.users = sum(args.mix.values())
    return args


def day_env(args, use_redis):
    env = server_env(args, use_redis)
    every = str(args.sweep_seconds)
    env.update({
        "SLA_SWEEP_SECONDS": every, "OUTBOX_SWEEP_SECONDS": every, "REPORTS_SWEEP_SECONDS": every,
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend", "SMS_API_URL": "", "NOTIFY_WEBHOOK_URL": "",
        # The run's dispatchers assign faster than its technicians close jobs in a few minutes; a
        # technician's capacity (6 open jobs) would refuse assignments the day would spread out.
        "DISPATCH_CAPACITY": "1000",
        "PYTHONUNBUFFERED": "1",
    })
    return env


# ------------------------------------------------------------------ the plan

def _staff(prefix, role, count, password_hash):
    from django.contrib.auth.models import Group, User

    group, _ = Group.objects.get_or_create(name=role)
    users = []
    for i in range(count):
        user, created = User.objects.get_or_create(username=f"{prefix}-{i}",
                                                   defaults={"first_name": f"{prefix} {i}", "password": password_hash})
        if created:
            user.groups.add(group)
        users.append(user)
    return users


def _technicians(users):
    from catalog.models import Skill
    from technicians.models import Technician, TechnicianSkill

    skills = list(Skill.objects.all())
    techs = []
    for i, user in enumerate(users):
        tech, created = Technician.objects.get_or_create(
            user=user, defaults={"phone": f"+8613{600000000 + i:09d}", "home_latitude": 31.23, "home_longitude": 121.47})
        if created:
            TechnicianSkill.objects.bulk_create(
                [TechnicianSkill(technician=tech, skill=skill, level=5) for skill in skills], ignore_conflicts=True)
        techs.append(tech)
    return techs


def _sample_ids(model, n, rng):
    """About ``n`` random rows of a large table, by id (no ORDER BY random() over a million rows)."""
    from django.db.models import Max, Min

    bounds = model.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return model.objects.none()
    ids = {rng.randint(bounds["lo"], bounds["hi"]) for _ in range(n * 2)}
    return model.objects.filter(pk__in=ids)[:n]


def _login(user):
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def prepare(args, hosts):
    """The plan of bench/day/locustfile.py: staff sessions, data to pick from, form bodies."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password

    from bench.escalation_latency import setup_policy
    from bench.scenarios import public_form_body
    from catalog.models import ServiceType
    from core import roles as R
    from customers.models import Customer
    from workorders.forms import StaffIntakeForm
    from workorders.models import WorkOrder
    from workorders.services import workorder_create, workorder_transition

    rng = random.Random(1)
    short_type = setup_policy(args.sla_minutes)
    normal_type = (ServiceType.objects.filter(active=True, code="washer-repair").first()
                   or ServiceType.objects.filter(active=True).exclude(code__startswith="bench-").first())
    password = make_password(None)
    mix = args.mix
    agents = _staff("day-agent", R.AGENT, mix["agent"], password)
    dispatchers = _staff("day-dispatcher", R.DISPATCHER, mix["dispatcher"], password)
    managers = _staff("day-manager", R.MANAGER, mix["manager"], password)
    techs = _technicians(_staff("day-tech", R.TECHNICIAN, mix["technician"], password))

    # Every technician starts the day with a job (later ones come from the dispatchers).
    for i, tech in enumerate(techs):
        if WorkOrder.objects.filter(technician=tech, status__in=["assigned", "accepted", "en_route",
                                                                  "in_progress"]).exists():
            continue
        wo, _ = workorder_create(
            channel="phone", contact_name="早班 Morning", contact_phone=f"+8613{700000000 + i:09d}",
            address="上海市黄浦区南京东路100号", service_type=normal_type, description="空调不制冷。",
            actor_role=R.AGENT, created_by=agents[0])
        workorder_transition(work_order_id=wo.pk, action="assign", actor=dispatchers[0], technician_id=tech.pk)

    tokens = list(_sample_ids(WorkOrder, 2000, rng).values_list("public_token", flat=True))
    customers = list(_sample_ids(Customer, 500, rng).values_list("phone", "name"))
    numbers = [wo.number for wo in _sample_ids(WorkOrder, 300, rng).only("pk", "created_at")]
    terms = [phone for phone, _ in customers[:200]] + [name for _, name in customers[200:400]] + numbers

    ctx = Context(hosts[0])
    ctx.csrf_token = "__CSRF__"
    share = max(0, min(4, round(args.short_share * 4)))  # of every 4 creates
    bodies, intake = [], []
    for i in range(4):
        service_type = short_type if i < share else normal_type
        ctx.service_type_id, ctx.service_type_code = service_type.pk, service_type.code
        bodies.append(public_form_body(ctx)[1])
        values = {"contact_phone": "__CALLER__", "contact_name": "来电客户 Caller", "site": "",
                  "address": "上海市静安区南京西路1266号18楼", "equipment": "", "service_type": str(service_type.pk),
                  "description": "热水器点不着火，显示 E1。", "priority": "2", "preferred_start": "",
                  "preferred_end": "", "submission_key": "__UUID__"}
        data = [(name, values[name]) for name in StaffIntakeForm.base_fields if name in values]
        intake.append(urlencode(data + [("csrfmiddlewaretoken", "__CSRF__"), ("save", "1")]))
    return {
        "hosts": hosts,
        "mix": mix,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "sessions": {
            "agent": [_login(u) for u in agents],
            "dispatcher": [_login(u) for u in dispatchers],
            "manager": [_login(u) for u in managers],
            "technician": [_login(t.user) for t in techs],
        },
        "technician_ids": [t.pk for t in techs],
        "tracking_tokens": tokens,
        "customer_phones": [phone for phone, _ in customers] or ["+8613800000000"],
        "search_terms": terms,
        "public_form_bodies": bodies,
        "intake_bodies": intake,
        "short_service_type": short_type.pk,
    }


def settle():
    """Bring a freshly loaded database to the state a running system keeps, before the load.

    - PostgreSQL's statistics: a table it has none for (a database loaded in bulk while
      autovacuum is off, as on the bench's server) is vacuumed and analysed, as autovacuum would
      have done long before a day like this; without them the planner guesses (the summary rows:
      500 rows where 90,000 match, no index-only scans) and the dashboard pays for it.
    - The reports' periodic sweep starts at the newest event when it has never run (the seed
      writes the recent orders' summary rows itself and leaves no sweep state): else its first
      runs walk the whole event history, 50,000 events a run, which is a one-off catch-up
      after a bulk load (``manage.py reports_refresh --all``), not a day's work.

    Returns what it did, for the log."""
    from django.db import connection

    from reports.models import RefreshState
    from workorders.models import WorkOrderEvent

    done = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relpages > 0 "
            "AND NOT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname) "
            "ORDER BY c.relname"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(name)}")
            done.append(f"vacuumed and analysed {name}")
    if not RefreshState.objects.filter(name="facts").exists():
        top = WorkOrderEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        RefreshState.objects.create(name="facts", done_event_id=top, seen_event_id=top)
        done.append(f"reports sweep starts at event {top}")
    return done


# ------------------------------------------------------------- processes

class Group:
    """The processes of one server, in a session of their own (so their CPU time can be told apart)."""

    def __init__(self, name, argv, env, logdir):
        self.name = name
        self.log = logdir / f"{name}.log"
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_log(self, text, timeout=90):
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} did not start:\n{self.text()[-3000:]}")
            time.sleep(0.3)

    def wait_for_url(self, url, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer {url}:\n{self.text()[-3000:]}")

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# --------------------------------------------------------------- sampling

def _proc_stat(pid):
    """(command, session id, CPU ticks) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    rest = stat[stat.rindex(")") + 2:].split()
    return comm, int(rest[3]), int(rest[11]) + int(rest[12])


def _machine_ticks():
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


class CpuMeter:
    """CPU seconds per group of processes between ``start()`` and the last ``sample()``.

    Each process is counted from its first sample (a process started later counts from zero);
    a process that exits between two samples loses what it used since the last one."""

    def __init__(self, sessions, dbname):
        self.sessions = sessions  # session id -> group name
        self.dbname = dbname
        self.base, self.last, self.group_of = {}, {}, {}
        self.machine_start = self.machine_last = None

    def _group(self, pid, comm, sid):
        if sid in self.sessions:
            return self.sessions[sid]
        if comm == "postgres":
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                title = ""
            # A backend's title: "postgres: [15/main: ]<user> <database> <host>(<port>) <state>".
            match = re.match(r"postgres: (?:\S+: )?\S+ (\S+) \S+\(\d+\)", title)
            if match is None:  # checkpointer, WAL writer, autovacuum ...
                return "postgres (shared)"
            return "postgres (this database)" if match.group(1) == self.dbname else "postgres (other databases)"
        return "other"

    def _scan(self):
        seen = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = _proc_stat(entry.name)
                if stat:
                    seen[int(entry.name)] = stat
        return seen

    def start(self):
        for pid, (comm, sid, ticks) in self._scan().items():
            self.base[pid] = ticks
        self.machine_start = self.machine_last = _machine_ticks()

    def sample(self):
        for pid, (comm, sid, ticks) in self._scan().items():
            if pid not in self.group_of:
                self.group_of[pid] = self._group(pid, comm, sid)
                self.base.setdefault(pid, 0)
            self.last[pid] = ticks
        self.machine_last = _machine_ticks()

    def seconds(self):
        out = {}
        for pid, ticks in self.last.items():
            group = self.group_of[pid]
            out[group] = out.get(group, 0) + max(0, ticks - self.base.get(pid, 0)) / CLK_TCK
        busy = (self.machine_last[0] - self.machine_start[0]) / CLK_TCK
        total = (self.machine_last[1] - self.machine_start[1]) / CLK_TCK
        return out, busy, total


def wait_until_idle(sessions, *, busy_ticks=None, timeout=120):
    """Wait until the processes of ``sessions`` used under a fifth of a core over one second."""
    busy_ticks = busy_ticks or CLK_TCK // 5

    def ticks():
        total = 0
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = _proc_stat(entry.name)
                if stat and stat[1] in sessions:
                    total += stat[2]
        return total

    deadline = time.monotonic() + timeout
    before = ticks()
    while time.monotonic() < deadline:
        time.sleep(1)
        now = ticks()
        if now - before < busy_ticks:
            return
        before = now
    log(f"(the servers were still busy after {timeout} s; starting anyway)")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# ------------------------------------------------------------------ main

def main(argv=None):
    args = parse_args(argv)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("day: the run is on PostgreSQL (--database-url postgres://...)")
    use_redis = bool(args.redis_url) and reachable(args.redis_url, 6379)
    if not use_redis:
        sys.exit(f"day: Celery needs its broker; {args.redis_url} does not answer")
    env = day_env(args, use_redis)
    os.environ.update(env)
    stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}"
    logdir = BENCH / "results" / f"day-{stamp}"
    logdir.mkdir(parents=True, exist_ok=True)

    log("Migrating")
    manage("migrate", "--noinput", "-v", "0", env=env)
    import django

    django.setup()
    import redis
    from django.db import connection
    from django.utils import timezone

    from notifications.selectors import outbox_backlog
    from workorders.models import Escalation, WorkOrder

    broker = redis.Redis.from_url(args.redis_url)
    broker.delete("celery")  # what an earlier run left in the queue is not this run's work
    have = WorkOrder.objects.count()
    ports = [free_port() for _ in range(args.web_nodes)]
    hosts = [f"http://127.0.0.1:{port}" for port in ports]
    log(f"{have:,} work orders in {urlsplit(args.database_url).path.lstrip('/')}; preparing the day's staff "
        f"({args.users} users: {', '.join(f'{n} {role}' for role, n in args.mix.items())})")
    plan = prepare(args, hosts)
    for step in settle():
        log(f"Settled: {step}")
    plan_path = logdir / "plan.json"
    plan_path.write_text(json.dumps(plan, ensure_ascii=False))
    connection.close()

    full_env = {**os.environ, **env}
    groups = []
    load_before = os.getloadavg()
    try:
        for i, port in enumerate(ports):
            groups.append(Group(f"web-{i + 1}", [
                tool("gunicorn"), "config.wsgi:application", "--workers", str(args.web_workers),
                "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60",
            ], full_env, logdir))
        celery = [python_bin(), "-m", "celery", "-A", "config"]
        for i in range(args.worker_nodes):
            groups.append(Group(f"worker-{i + 1}", [
                *celery, "worker", "-n", f"day{i + 1}@%h", "--loglevel=INFO",
                f"--concurrency={args.worker_concurrency}", "--without-gossip", "--without-mingle",
            ], full_env, logdir))
        groups.append(Group("beat", [*celery, "beat", "--loglevel=INFO", f"--schedule={logdir / 'beat-schedule'}"],
                            full_env, logdir))
        for group, host in zip(groups, hosts):
            group.wait_for_url(f"{host}/healthz")
        for group in groups[len(hosts):]:
            group.wait_for_log(" ready." if group.name.startswith("worker") else "Starting...")
        # /healthz answered from one worker of each node; the others may still be loading the
        # application (the word segmenter's dictionary: seconds of CPU each). Start when they are idle.
        wait_until_idle([g.proc.pid for g in groups])
        log(f"Up: {args.web_nodes} web ({args.web_workers} sync workers each) at {', '.join(hosts)}; "
            f"{args.worker_nodes} Celery workers ({args.worker_concurrency} process(es) each); 1 beat; "
            f"sweeps every {args.sweep_seconds} s")

        started_at = timezone.now()
        spawn_seconds = args.users / args.spawn_rate
        locust = Group("locust", [
            tool("locust"), "-f", str(LOCUSTFILE), "--headless", "-u", str(args.users), "-r", str(args.spawn_rate),
            "-t", f"{int(args.duration + spawn_seconds)}s", "--reset-stats", "--only-summary",
            "--csv", str(logdir / "locust"), "--host", hosts[0], "--stop-timeout", "15", "--loglevel", "WARNING",
        ], {**full_env, "DAY_PLAN": str(plan_path)}, logdir)
        groups.append(locust)
        meter = CpuMeter({g.proc.pid: g.name.split("-")[0] for g in groups}, urlsplit(args.database_url).path[1:])
        # The CPU count starts once every user is started (when locust resets its statistics).
        time.sleep(spawn_seconds)
        meter.start()
        measured_from = time.monotonic()
        log(f"Load: {args.users} users started; measuring {args.duration} s")
        samples = []
        while locust.proc.poll() is None:
            time.sleep(args.sample_seconds)
            meter.sample()
            backlog = outbox_backlog()
            samples.append({
                "t": time.monotonic() - measured_from, "load": os.getloadavg()[0], "pending": backlog["pending"],
                "oldest": backlog["oldest_pending_seconds"] or 0, "queue": broker.llen("celery"),
            })
            connection.close()
        measured = time.monotonic() - measured_from
        ended_at = timezone.now()
        # What fell due during the run: fired, and passed without an escalation (still waiting).
        fired = list(Escalation.objects.filter(work_order__created_at__gte=started_at, due_at__gte=started_at,
                                               due_at__lte=ended_at).values_list("fired_at", "due_at"))
        overdue = list(WorkOrder.objects.filter(created_at__gte=started_at, next_escalation_at__lt=ended_at)
                       .values_list("next_escalation_at", flat=True))
        created = WorkOrder.objects.filter(created_at__gte=started_at).count()
        resolved = WorkOrder.objects.filter(technician__user__username__startswith="day-tech-",
                                            resolved_at__gte=started_at).count()
        backlog_end = outbox_backlog()
        load_after = os.getloadavg()
    finally:
        for group in reversed(groups):
            group.stop()
        broker.close()

    stats = read_stats(logdir / "locust_stats.csv")
    cpu, busy, total = meter.seconds()
    report = render(args, have=have, stats=stats, samples=samples, cpu=cpu, busy=busy, total=total,
                    measured=measured, fired=fired, overdue=overdue, ended_at=ended_at, created=created,
                    resolved=resolved, backlog_end=backlog_end, load=(load_before, load_after), logdir=logdir)
    log("\n" + report)
    out = BENCH / "results" / f"day-{stamp}.md"
    out.write_text(report)
    log(f"Written to {out.relative_to(ROOT)} (logs and locust's CSV in {logdir.relative_to(ROOT)})")
    failures = sum(row["failures"] for row in stats if row["name"] != "Aggregated")
    return 1 if failures else 0


def read_stats(path):
    rows = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            rows.append({
                "name": row["Name"], "method": row["Type"], "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]), "rps": float(row["Requests/s"]),
                "p50": float(row["50%"] or 0), "p95": float(row["95%"] or 0), "p99": float(row["99%"] or 0),
                "max": float(row["Max Response Time"] or 0),
            })
    return rows


def render(args, *, have, stats, samples, cpu, busy, total, measured, fired, overdue, ended_at, created, resolved,
           backlog_end, load, logdir):
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip() or "?"
    except OSError:
        commit = "?"
    cores = os.cpu_count()
    loads = [s["load"] for s in samples] or [0]
    lines = [
        f"# A day in the life {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"{have:,} work orders at the start; {args.users} users ({', '.join(f'{n} {r}' for r, n in args.mix.items())}); "
        f"{measured:.0f} s measured after all users started; {args.web_nodes} gunicorn servers × {args.web_workers} "
        f"sync workers, {args.worker_nodes} Celery workers × {args.worker_concurrency}, 1 beat, sweeps every "
        f"{args.sweep_seconds} s; {cores} CPUs; commit {commit}.",
        f"Load average (1 min): {load[0][0]:.2f} before, {statistics.mean(loads):.2f} mean and {max(loads):.2f} "
        f"max during, {load[1][0]:.2f} at the end.",
        "",
        f"| page class | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | failures | p95 < {P95_TARGET_MS} ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in sorted(stats, key=lambda r: (r["name"] == "Aggregated", -r["requests"])):
        verdict = "" if row["name"] == "Aggregated" else ("yes" if row["p95"] < P95_TARGET_MS else "**no**")
        name = "**all**" if row["name"] == "Aggregated" else row["name"]
        lines.append(f"| {name} | {row['requests']} | {row['rps']:.1f} | {row['p50']:.0f} | {row['p95']:.0f} | "
                     f"{row['p99']:.0f} | {row['max']:.0f} | {row['failures']} | {verdict} |")
    delays = [(f - d).total_seconds() for f, d in fired]
    waiting = [(ended_at - due).total_seconds() for due in overdue]
    per_hour = created / measured * 3600 if measured else 0
    lines += [
        "",
        f"- Work orders created: {created} ({per_hour:,.0f} an hour; a day of 8 such hours: {per_hour * 8:,.0f}); "
        f"jobs completed by the run's technicians: {resolved}.",
    ]
    if delays:
        lines.append(f"- Escalation delay (deadline to escalation row, orders created and due during the run): "
                     f"median {statistics.median(delays):.1f} s, p95 {percentile(delays, 95):.1f} s, "
                     f"max {max(delays):.1f} s (n={len(delays)}); past their deadline without one at the end: "
                     f"{len(waiting)}" + (f" (the oldest {max(waiting):.0f} s)" if waiting else "") + ".")
    else:
        lines.append(f"- Escalation delay: no escalation fell due during the run; {len(waiting)} orders past "
                     "their deadline without one.")
    if samples:
        lines.append(
            f"- Outbox: pending at most {max(s['pending'] for s in samples)} (mean "
            f"{statistics.mean(s['pending'] for s in samples):.0f}), oldest undelivered at most "
            f"{max(s['oldest'] for s in samples)} s; at the end {backlog_end['pending']} pending, "
            f"{backlog_end['failed']} failed. Celery queue at most {max(s['queue'] for s in samples)} messages.")
    errors = sum(row["failures"] for row in stats if row["name"] != "Aggregated")
    lines.append(f"- Errors (failed requests of every class): {errors}.")
    capacity = cores * measured
    db = cpu.get("postgres (this database)", 0) + cpu.get("postgres (shared)", 0)
    lines.append(
        f"- CPU over the run ({capacity:.0f} core-seconds available, {busy:.0f} used by all of the machine): "
        + "; ".join(f"{name} {secs:.0f} s ({secs / capacity:.0%} of the machine, {secs / busy:.0%} of what was used)"
                    for name, secs in sorted(cpu.items(), key=lambda kv: -kv[1]) if secs >= 0.5)
        + f". The database's share (this database's backends and the server's shared processes): "
        f"{db / capacity:.0%} of the machine, {db / busy:.0%} of the CPU used.")
    requests = sum(row["requests"] for row in stats if row["name"] != "Aggregated")
    if requests:
        web, work = cpu.get("web", 0), cpu.get("worker", 0) + cpu.get("beat", 0)
        per = (web + db + work) / requests * 1000
        lines.append(
            f"- CPU per request of the mix: web {web / requests * 1000:.1f} ms, database {db / requests * 1000:.1f} ms, "
            f"Celery (workers and beat) {work / requests * 1000:.1f} ms; together {per:.1f} ms, so {cores} cores "
            f"given to this system alone would serve about {cores * 1000 / per:.0f} req/s of this mix.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
