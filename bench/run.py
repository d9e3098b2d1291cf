"""Benchmark harness: seed PostgreSQL, start gunicorn, drive it with wrk, print a table.

    make bench                                             # 1,000,000 work orders
    make bench BENCH_ARGS="--work-orders 100000 --reuse"   # a quicker run, keeping the data

What it does:

1. Creates the database if needed (default postgres://postgres@127.0.0.1:5432/bench),
   migrates it, and seeds it with ``manage.py seed_demo --flush --work-orders N``
   (``--reuse`` skips seeding when the database already holds N work orders or more).
2. Prepares what the scenarios need: an API token (user ``agent``), a staff
   session (user ``dispatcher``), a work order with 50 events, the public form's
   CSRF cookie and token, and the deep-page cursors (``bench/scenarios.py``).
3. Starts gunicorn (``config.wsgi``, 2 sync workers, 127.0.0.1) in production
   settings (DEBUG off), with the TLS-only settings off because it serves plain
   HTTP on loopback, and the public form's rate limit raised out of the way.
4. For each scenario: measures the CPU time and counts the SQL queries of a
   request in this process (django.test.Client on the same database, so the
   server runs uninstrumented; queries with the per-process copies of users,
   roles and reference data warm, and once more with them dropped), then runs wrk (``bench/lua/request.lua``) for ``--duration`` seconds after a
   short warm-up, and reads req/s and latency percentiles.
5. Prints the table and writes it to ``bench/results/<timestamp>.md``.

Loopback only: the server binds 127.0.0.1 and wrk talks to nothing else.
"""

import argparse
import html
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
LUA = BENCH / "lua" / "request.lua"
DETAIL_KEY = uuid.uuid5(uuid.NAMESPACE_URL, "fieldservice-bench:detail-50-events-accepted")
# The detail work order's transitions after its creation (50 events with it), ending accepted, where
# a dispatcher is offered re-assign (a choice of every active technician), un-assign, hold
# and cancel. (The order of the first version, en route, offered no technician choice.)
DETAIL_PLAN = ("assign", "accept", "unassign", "assign", "accept") + ("hold", "resume") * 22
CPU_SAMPLES = 30  # requests per round
CPU_ROUNDS = 3  # the least disturbed round counts: other load only ever adds
QUERY_SAMPLES = 5  # requests whose fewest queries are reported


class QueryCount(tuple):
    """(warm, cold): queries of a request with the per-process copies warm, and with them dropped."""

    def __new__(cls, warm, cold):
        return super().__new__(cls, (warm, cold))

    def __str__(self):
        warm, cold = self
        return f"{warm}" if warm == cold else f"{warm} ({cold} cold)"


def log(message=""):
    print(message, flush=True)


# ------------------------------------------------------------------ options

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-orders", type=int, default=1_000_000, help="size of the seeded database")
    parser.add_argument("--reuse", action="store_true", help="skip seeding when the database already has N")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per scenario (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load first (default 2)")
    parser.add_argument("--connections", type=int, default=4, help="concurrent wrk connections (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
        help="cache and Celery broker for the server, as in production ('' for none; skipped if unreachable)",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for seed_demo")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- plumbing

def python_bin():
    return sys.executable


def tool(name):
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        sys.exit(f"bench: {name} is not installed")
    return found


def reachable(url, default_port):
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(args, use_redis):
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": args.database_url,
        "DB_CONN_MAX_AGE": "600",
        # Production settings, minus what only makes sense behind TLS.
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "STATIC_MANIFEST": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        # Every request comes from 127.0.0.1; the public form's limit would stop the run.
        "PUBLIC_FORM_RATE": "100000000/s",
        "LOG_LEVEL": "WARNING",
    }
    if use_redis:
        env["REDIS_URL"] = args.redis_url
        env["CELERY_BROKER_URL"] = args.redis_url
    return env


def ensure_database(url):
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                log(f"Creating database {name}")
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def manage(*argv, env):
    subprocess.run([python_bin(), str(ROOT / "manage.py"), *argv], cwd=ROOT, env={**os.environ, **env}, check=True)


def fill(template, key=None):
    """A body or header with fresh values, as request.lua makes them."""
    key = key or str(uuid.uuid4())
    return template.replace("__UUID__", key).replace("__PHONE__", f"+86139{random.randrange(10**8):08d}")


# ------------------------------------------------------------------ context

class Context:
    """What the scenarios need: credentials, ids, and a way to fetch pages."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.token = ""
        self.session_id = ""
        self.csrf_cookie = ""
        self.csrf_token = ""
        self.detail_pk = None
        self.service_type_id = None
        self.service_type_code = ""

    def auth_headers(self, auth):
        from django.conf import settings

        if auth == "token":
            return {"Authorization": f"Token {self.token}"}
        if auth == "session":
            return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.session_id}"}
        if auth == "csrf":
            return {"Cookie": f"{settings.CSRF_COOKIE_NAME}={self.csrf_cookie}"}
        return {}

    def get(self, path, auth=None):
        request = urllib.request.Request(self.base_url + path, headers=self.auth_headers(auth))
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read().decode(errors="replace")

    def follow_next(self, path, *, auth, pages):
        """Follow the "next" link ``pages`` times; the path of the page reached."""
        started = time.monotonic()
        for hop in range(pages):
            status, headers, body = self.get(path, auth)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            nxt = None
            if "json" in headers.get("Content-Type", ""):
                nxt = json.loads(body).get("next")
            else:
                match = re.search(r'<a\b[^>]*\brel="next"[^>]*>', body)
                if match:
                    href = re.search(r'\bhref="([^"]+)"', match.group(0))
                    nxt = html.unescape(href.group(1)) if href else None
            if not nxt:
                log(f"  only {hop + 1} pages behind {path}; using the last one")
                return path
            parts = urlsplit(urljoin(self.base_url + path, nxt))
            path = parts.path + ("?" + parts.query if parts.query else "")
        log(f"  followed {pages} pages in {time.monotonic() - started:.1f} s")
        return path


def prepare(ctx):
    """Credentials and the work order with 50 events (all through the real services)."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from technicians.models import Technician
    from catalog.models import ServiceType
    from workorders.models import WorkOrder
    from workorders.services import workorder_create, workorder_transition

    agent = User.objects.get(username="agent")
    dispatcher = User.objects.get(username="dispatcher")
    ctx.token = Token.objects.get_or_create(user=agent)[0].key
    client = Client()
    client.force_login(dispatcher)
    ctx.session_id = client.cookies[settings.SESSION_COOKIE_NAME].value
    service_type = (
        ServiceType.objects.filter(active=True, code="washer-repair").first()
        or ServiceType.objects.filter(active=True).first()
    )
    ctx.service_type_id, ctx.service_type_code = service_type.pk, service_type.code

    wo = WorkOrder.objects.filter(submission_key=DETAIL_KEY).first()
    if wo is None:
        wo, _ = workorder_create(
            channel="phone", contact_name="压测 Bench", contact_phone="+8613900000000",
            address="上海市黄浦区南京东路100号", service_type=service_type,
            description="空调不制冷，外机有异响。", submission_key=DETAIL_KEY, created_by=agent, actor_role="agent",
        )
    tech = Technician.objects.select_related("user").get(user__username="technician")
    for action in DETAIL_PLAN[wo.events.count() - 1:]:
        wo = workorder_transition(
            work_order_id=wo.pk, action=action, actor=tech.user if action == "accept" else dispatcher,
            technician_id=tech.pk if action == "assign" else None,
            note="等待配件 Waiting for parts" if action == "hold" else "",
        )
    ctx.detail_pk = wo.pk


def fetch_csrf(ctx):
    """The public form's CSRF cookie and token, fetched once as a browser would."""
    from django.conf import settings

    status, headers, body = ctx.get("/request/")
    if status != 200:
        return False
    for cookie in headers.get_all("Set-Cookie") or []:
        name, _, rest = cookie.partition("=")
        if name.strip() == settings.CSRF_COOKIE_NAME:
            ctx.csrf_cookie = rest.split(";")[0]
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    ctx.csrf_token = match.group(1) if match else ""
    return bool(ctx.csrf_cookie and ctx.csrf_token)


# -------------------------------------------------------------- measuring

def request_sender(ctx, scenario, path):
    """A function that sends one request of ``scenario`` to ``path`` with Django's test client
    in this process, with fresh values in the body and headers each time as wrk sends them.
    (tests/workorders/test_hot_path_queries.py counts queries with this too.)"""
    from django.conf import settings
    from django.test import Client

    client = Client()
    headers = {}
    if scenario.auth == "token":
        headers["Authorization"] = f"Token {ctx.token}"
    elif scenario.auth == "session":
        client.cookies[settings.SESSION_COOKIE_NAME] = ctx.session_id

    def once():
        if scenario.method == "GET":
            return client.get(path, headers=headers)
        content_type, template = scenario.body(ctx)
        key = str(uuid.uuid4())
        extra = {name: fill(value, key) for name, value in scenario.headers.items()}
        return client.generic(scenario.method, path, data=fill(template, key).encode(),
                              content_type=content_type, headers={**headers, **extra})

    return once


def capture_queries(once):
    """The queries of ``once()`` warm and cold: (warm, cold, warm response, cold response).

    Warm: the fewest of a few requests (the steady state: the per-process copies of users,
    roles, reference data and capped counts are warm); cold: one request right after those
    copies were dropped (what a request pays when one expires). Each is a
    ``CaptureQueriesContext``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.refcache import clear_all_local

    warm = response = None
    for _ in range(QUERY_SAMPLES):
        with CaptureQueriesContext(connection) as captured:
            response = once()
        if warm is None or len(captured) < len(warm):
            warm = captured
    clear_all_local()
    with CaptureQueriesContext(connection) as cold:
        cold_response = once()
    return warm, cold, response, cold_response


def count_queries(ctx, scenario, path):
    """SQL queries of one request, in this process, after one warm-up request."""
    once = request_sender(ctx, scenario, path)
    once()
    # Server CPU per request (this process, so other load on the machine barely moves it;
    # what it does move, through shared caches and cores, it only adds to: the best round counts).
    rounds = []
    for _ in range(CPU_ROUNDS):
        started = time.process_time()
        for _ in range(CPU_SAMPLES):
            once()
        rounds.append((time.process_time() - started) / CPU_SAMPLES * 1000)
    cpu_ms = min(rounds)
    warm, cold, response, _cold_response = capture_queries(once)
    queries = QueryCount(len(warm), len(cold))
    return queries, response, [q["sql"] for q in warm.captured_queries], cpu_ms


def run_wrk(ctx, scenario, path, seconds, args):
    env = {**os.environ, "BENCH_METHOD": scenario.method, "BENCH_BODY": "", "BENCH_HEADERS": ""}
    headers = dict(ctx.auth_headers(scenario.auth))
    if scenario.body is not None:
        content_type, template = scenario.body(ctx)
        headers["Content-Type"] = content_type
        env["BENCH_BODY"] = template
    headers.update(scenario.headers)
    env["BENCH_HEADERS"] = "\n".join(f"{k}: {v}" for k, v in headers.items())
    cmd = [tool("wrk"), "-t", str(args.threads), "-c", str(args.connections), "-d", f"{seconds}s",
           "--timeout", "5s", "-s", str(LUA), ctx.base_url + path]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")


def start_server(args, env, port):
    logfile = open(BENCH / "results" / "gunicorn.log", "w")
    cmd = [tool("gunicorn"), "config.wsgi:application", "--workers", str(args.workers), "--worker-class", "sync",
           "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=logfile, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"bench: gunicorn exited; see {logfile.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    sys.exit("bench: gunicorn did not answer /healthz within 60 s")


def stop_server(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def verdict(scenario, rps, p95):
    misses = []
    if scenario.min_rps is not None and rps < scenario.min_rps:
        misses.append(f"req/s < {scenario.min_rps:g}")
    if scenario.max_p95_ms is not None and p95 >= scenario.max_p95_ms:
        misses.append(f"p95 ≥ {scenario.max_p95_ms:g} ms")
    return "MISS: " + ", ".join(misses) if misses else ("ok" if scenario.min_rps or scenario.max_p95_ms else "")


def target_text(scenario):
    parts = []
    if scenario.min_rps is not None:
        parts.append(f"≥ {scenario.min_rps:g} req/s")
    if scenario.max_p95_ms is not None:
        parts.append(f"p95 < {scenario.max_p95_ms:g} ms")
    return ", ".join(parts)


# --------------------------------------------------------------------- main

def main(argv=None):
    args = parse_args(argv)
    from bench.scenarios import SCENARIOS

    if args.list:
        for s in SCENARIOS:
            log(f"{s.name:<18} {s.method:<5} {s.label}  {target_text(s)}")
        return 0
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    unknown = wanted - {s.name for s in SCENARIOS}
    if unknown:
        sys.exit(f"bench: unknown scenario(s): {', '.join(sorted(unknown))} (see --list)")
    scenarios = [s for s in SCENARIOS if not wanted or s.name in wanted]
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench: the benchmark runs on PostgreSQL (--database-url postgres://...)")
    (BENCH / "results").mkdir(exist_ok=True)

    use_redis = bool(args.redis_url) and reachable(args.redis_url, 6379)
    env = server_env(args, use_redis)
    os.environ.update(env)

    ensure_database(args.database_url)
    log("Migrating")
    manage("migrate", "--noinput", "-v", "0", env=env)

    import django

    django.setup()
    from django.db import connection

    from workorders.models import WorkOrder

    have = WorkOrder.objects.count()
    if args.reuse and have >= args.work_orders:
        log(f"Reusing the database: {have:,} work orders")
    else:
        log(f"Seeding {args.work_orders:,} work orders (this replaces the demo data in {args.database_url})")
        started = time.monotonic()
        manage("seed_demo", "--flush", "--work-orders", str(args.work_orders), "--seed", str(args.seed), env=env)
        log(f"Seeded in {time.monotonic() - started:.0f} s")
        connection.close()
        have = WorkOrder.objects.count()

    args.load_before = os.getloadavg()[0]
    if args.load_before > 1.0:
        log(f"Note: the load average is {args.load_before:.2f}; other processes will take CPU from the server.")
    port = args.port or free_port()
    ctx = Context(f"http://127.0.0.1:{port}")
    log("Preparing credentials and the 50-event work order")
    prepare(ctx)
    connection.close()

    log(f"Starting gunicorn ({args.workers} sync workers) on 127.0.0.1:{port}"
        + (f", Redis at {args.redis_url}" if use_redis else ", no Redis"))
    server = start_server(args, env, port)
    rows, details = [], []
    try:
        csrf_ok = fetch_csrf(ctx)
        for scenario in scenarios:
            log(f"\n== {scenario.name}: {scenario.label}")
            if scenario.auth == "csrf" and not csrf_ok:
                rows.append((scenario, None, None, None, None, "skipped: no form with a CSRF token at /request/"))
                log("  skipped: no CSRF token")
                continue
            try:
                path = scenario.path(ctx)
                queries, response, sql, cpu_ms = count_queries(ctx, scenario, path)
            except Exception as exc:  # an endpoint still being built, a bad cursor, ...
                rows.append((scenario, None, None, None, None, f"skipped: {type(exc).__name__}: {exc}"))
                log(f"  skipped: {exc!r}")
                continue
            finally:
                connection.close()
            if response.status_code not in scenario.expect:
                snippet = response.content[:300].decode(errors="replace").replace("\n", " ")
                rows.append((scenario, path, queries, cpu_ms, None, f"skipped: answered {response.status_code}"))
                log(f"  skipped: {scenario.method} {path} answered {response.status_code}: {snippet}")
                continue
            log(f"  {scenario.method} {path}: {queries} queries, {cpu_ms:.1f} ms CPU; "
                f"warming up {args.warmup} s, measuring {args.duration} s")
            if args.warmup:
                run_wrk(ctx, scenario, path, args.warmup, args)
            result = run_wrk(ctx, scenario, path, args.duration, args)
            rows.append((scenario, path, queries, cpu_ms, result, None))
            details.append((scenario, path, sql))
            errors = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
            log(f"  {result['requests'] / (result['duration_us'] / 1e6):.0f} req/s, p50 {result['p50_us'] / 1000:.1f} ms, "
                f"p95 {result['p95_us'] / 1000:.1f} ms, errors {errors}")
    finally:
        stop_server(server)

    report = render(args, have, use_redis, rows, details)
    log("\n" + report.split("\n<details>")[0])
    out = BENCH / "results" / f"{datetime.now():%Y%m%d-%H%M%S}.md"
    out.write_text(report)
    log(f"Written to {out.relative_to(ROOT)}")
    return 0


def render(args, have, use_redis, rows, details):
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip() or "?"
    except OSError:
        commit = "?"
    lines = [
        f"# Benchmark {datetime.now():%Y-%m-%d %H:%M}",
        "",
        f"{have:,} work orders; gunicorn {args.workers} sync workers; wrk {args.threads} thread(s), "
        f"{args.connections} connections, {args.duration} s per scenario after {args.warmup} s warm-up; "
        f"{'Redis cache and broker' if use_redis else 'no Redis'}; {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}; commit {commit}; load average before the run "
        f"{args.load_before:.2f}, after {os.getloadavg()[0]:.2f}.",
        "",
        "| endpoint | req/s | p50 ms | p95 ms | p99 ms | SQL queries/req | CPU ms/req | errors | target | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for scenario, path, queries, cpu_ms, result, note in rows:
        name = f"{scenario.label}<br>`{scenario.method} {path or '?'}`"
        cpu = f"{cpu_ms:.1f}" if cpu_ms is not None else ""
        if result is None:
            lines.append(f"| {name} | | | | | {queries if queries is not None else ''} | {cpu} | | "
                         f"{target_text(scenario)} | {note} |")
            continue
        seconds = result["duration_us"] / 1e6
        rps = result["requests"] / seconds
        p95 = result["p95_us"] / 1000
        errors = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
        outcome = verdict(scenario, rps, p95)
        if errors:
            outcome = f"{outcome}; {errors} errors".lstrip("; ")
        lines.append(
            f"| {name} | {rps:.0f} | {result['p50_us'] / 1000:.1f} | {p95:.1f} | {result['p99_us'] / 1000:.1f} | "
            f"{queries} | {cpu} | {errors} | {target_text(scenario)} | {outcome} |"
        )
    lines += [
        "",
        "SQL queries/req and CPU ms/req: requests served in the harness process (Django test client, same "
        f"database; CPU per request averaged over {CPU_SAMPLES} requests, the lowest of {CPU_ROUNDS} rounds; "
        f"queries: the fewest of {QUERY_SAMPLES} requests, and in brackets a request right after the per-process "
        "copies (core/refcache.py: users, tokens, roles, reference data, capped counts) were dropped, as happens "
        "when one expires or changes). "
        "With W workers on W free cores, 1000 × W / CPU ms is "
        "the most req/s the code allows. Errors: connection, read, write and timeout errors plus responses "
        "outside 2xx/3xx.",
        "",
    ]
    for scenario, path, sql in details:
        lines += [f"<details><summary>SQL of one {scenario.name} request ({len(sql)} queries)</summary>", "", "```sql"]
        lines += [q if len(q) < 2000 else q[:2000] + " …" for q in sql]
        lines += ["```", "</details>", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
