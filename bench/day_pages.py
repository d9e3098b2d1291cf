"""Each page class of the day alone, one request at a time: wall milliseconds per class.

    .venv/bin/python bench/day_pages.py --database-url postgres://postgres@127.0.0.1:5432/bench \\
        --redis-url redis://127.0.0.1:6379/7 --n 20 [--only dashboard,"board poll"] [--skip-migrate]

The day in the life (``bench/day_in_life.py``) measures every role at once, on a machine the
load itself keeps busy; this measures what each page costs by itself, on the same data and
server: one gunicorn server (one sync worker, production settings as ``bench/run.py`` starts
them), no Celery, no other request in flight, after the day's own settling of the database
(``bench.day_in_life.settle``). The day's own preparation
(``bench.day_in_life.prepare``: staff sessions, tracking links, callers, search terms, form
bodies) gives the requests, made as ``bench/day/locustfile.py`` makes them, each page class
``--n`` times after ``--warm`` unmeasured ones. Every technician's flow (list, job, accept,
depart, arrive, completion form, completion with two 1280×960 photos and a signature) runs on
a job assigned to it here first.

Prints one row per class: requests, median, p95 and max wall milliseconds (the client's, over
loopback). It adds to the database it is given as the day does (users ``day-*``, orders).
"""

import argparse
import os
import random
import re
import statistics
import sys
import time
import uuid
from argparse import Namespace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.day.day_media import photo_jpeg, signature_data_url  # noqa: E402
from bench.day_in_life import P95_TARGET_MS, day_env, percentile, prepare, settle, wait_until_idle  # noqa: E402
from bench.run import DEFAULT_DB, DEFAULT_REDIS, free_port, log, manage, reachable, start_server, stop_server  # noqa: E402

CLASSES = [
    "public form", "public form submit", "tracking", "agent intake", "agent create", "agent search",
    "customer search", "board poll", "board page", "assign", "tech jobs", "tech job", "tech status",
    "tech complete form", "tech photo", "dashboard",
]
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ACTION_INPUT = re.compile(r'name="action" value="(\w+)"')
CHECK_INPUT = re.compile(r'name="check_(\d+)"')
KEY_INPUT = re.compile(r'name="submission_key" value="([^"]+)"')
JOB_LINK = re.compile(r'href="/tech/jobs/(\d+)/"')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20, help="measured requests per class (default 20)")
    parser.add_argument("--warm", type=int, default=2, help="unmeasured requests per class first (default 2)")
    parser.add_argument("--only", default="", help="these classes only, comma-separated")
    parser.add_argument("--skip-migrate", action="store_true", help="the database is migrated already")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    args = parser.parse_args(argv)
    args.only = [c.strip() for c in args.only.split(",") if c.strip()] or CLASSES
    unknown = set(args.only) - set(CLASSES)
    if unknown:
        parser.error(f"unknown page class(es): {', '.join(sorted(unknown))}; one of: {', '.join(CLASSES)}")
    # What the day's runner reads (bench.day_in_life.day_env and prepare).
    args.sweep_seconds, args.sla_minutes, args.short_share = 60, 2, 0.25
    total = args.n + args.warm
    args.mix = {"customer": 1, "agent": 1, "dispatcher": 1, "technician": total, "manager": 1}
    return args


class Pages:
    """The day's requests, each timed under its page class."""

    def __init__(self, host, plan):
        import requests

        self.host, self.plan, self.times, self.measuring = host, plan, {}, False
        self.requests = requests
        self.photos = [photo_jpeg(7), photo_jpeg(11)]
        self.signature = signature_data_url()

    def session(self, role, index=0):
        session = self.requests.Session()
        sessions = self.plan["sessions"].get(role) or []
        if sessions:
            session.cookies.set(self.plan["session_cookie"], sessions[index % len(sessions)])
        return session

    def call(self, session, name, method, path, status=(200,), **kwargs):
        kwargs.setdefault("allow_redirects", False)
        headers = {"Referer": self.host, **kwargs.pop("headers", {})}
        start = time.perf_counter()
        response = session.request(method, self.host + path, headers=headers, timeout=120, **kwargs)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code not in status:
            raise RuntimeError(f"{name}: {method} {path} answered {response.status_code}: {response.text[:300]}")
        if self.measuring:
            self.times.setdefault(name, []).append(elapsed)
        return response

    @staticmethod
    def csrf(html):
        match = CSRF_INPUT.search(html or "")
        return match.group(1) if match else ""

    @staticmethod
    def fill(template, csrf=""):
        return (template.replace("__UUID__", str(uuid.uuid4()))
                .replace("__PHONE__", f"+86139{random.randrange(10**8):08d}").replace("__CSRF__", csrf))

    def customer(self, classes):
        s = self.session("customer")
        if {"public form", "public form submit"} & classes:
            page = self.call(s, "public form", "GET", "/request/")
            if "public form submit" in classes:
                self.call(s, "public form submit", "POST", "/request/", status=(302, 303),
                          data=self.fill(random.choice(self.plan["public_form_bodies"]), self.csrf(page.text)).encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        if "tracking" in classes:
            self.call(s, "tracking", "GET", f"/track/{random.choice(self.plan['tracking_tokens'])}/")

    def agent(self, classes):
        s = self.session("agent")
        if {"agent intake", "agent create"} & classes:
            phone = random.choice(self.plan["customer_phones"])
            page = self.call(s, "agent intake", "GET", f"/staff/work-orders/new/?phone={phone}")
            if "agent create" in classes:
                body = self.fill(random.choice(self.plan["intake_bodies"]), self.csrf(page.text))
                self.call(s, "agent create", "POST", "/staff/work-orders/new/", status=(302, 303),
                          data=body.replace("__CALLER__", phone).encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        if "agent search" in classes:
            self.call(s, "agent search", "GET", "/staff/work-orders/search/",
                      params={"q": random.choice(self.plan["search_terms"])})
        if "customer search" in classes:
            self.call(s, "customer search", "GET", "/staff/customers/",
                      params={"q": random.choice(self.plan["search_terms"])})

    def dispatcher(self, classes):
        s = self.session("dispatcher")
        rows = []
        if "board poll" in classes or "assign" in classes:
            # A poll with an old version, as the page's refresh after the board changed.
            data = self.call(s, "board poll", "GET", "/dispatch/board.json", params={"version": "old"}).json()
            rows = [row["id"] for row in data["board"]["queue"]["rows"]]
        if "board page" in classes or "assign" in classes:
            self.call(s, "board page", "GET", "/dispatch/")
        if "assign" in classes and rows:
            csrf = s.cookies.get(self.plan["csrf_cookie"], "")
            response = self.call(
                s, "assign", "POST", f"/dispatch/work-orders/{random.choice(rows[:50])}/assign/",
                data={"action": "assign", "technician": random.choice(self.plan["technician_ids"])},
                headers={"X-CSRFToken": csrf, "Accept": "application/json"})
            if not response.json().get("ok"):
                raise RuntimeError(f"assign: {response.text[:300]}")

    def technician(self, index, classes):
        """One technician's job, from the list to the completion with photos."""
        s = self.session("technician", index)
        page = self.call(s, "tech jobs", "GET", "/tech/")
        jobs = JOB_LINK.findall(page.text)
        if not jobs:
            raise RuntimeError(f"technician {index} has no job")
        pk = int(jobs[0])
        for step in ("accept", "depart", "arrive"):
            page = self.call(s, "tech job", "GET", f"/tech/jobs/{pk}/")
            if step not in ACTION_INPUT.findall(page.text):
                continue
            data = {"csrfmiddlewaretoken": self.csrf(page.text), "action": step, "latitude": "31.2304",
                    "longitude": "121.4737"}
            if step == "depart":
                data["early_ok"] = "1"
            self.call(s, "tech status", "POST", f"/tech/jobs/{pk}/status/", status=(302,), data=data)
        form = self.call(s, "tech complete form", "GET", f"/tech/jobs/{pk}/complete/")
        key = KEY_INPUT.search(form.text)
        data = [("csrfmiddlewaretoken", self.csrf(form.text)), ("submission_key", key.group(1) if key else ""),
                ("work_done", "更换排水泵，试机正常。Replaced the drain pump; tested."), ("labour_minutes", "45"),
                ("signer_name", "李雷"), ("signature", self.signature), ("photo_meta", "[]")]
        data += [(f"check_{item}", "done") for item in sorted(set(CHECK_INPUT.findall(form.text)))]
        files = [("photos", (f"photo-{i}.jpg", content, "image/jpeg")) for i, content in enumerate(self.photos)]
        self.call(s, "tech photo", "POST", f"/tech/jobs/{pk}/complete/", status=(302,), data=data, files=files)

    def manager(self, classes):
        self.call(self.session("manager"), "dashboard", "GET", "/reports/")


def render(times, classes):
    lines = [f"| page class | requests | median ms | p95 ms | max ms | p95 < {P95_TARGET_MS} ms |",
             "|---|---:|---:|---:|---:|---|"]
    for name in classes:
        values = times.get(name, [])
        if not values:
            continue
        p95 = percentile(values, 95)
        lines.append(f"| {name} | {len(values)} | {statistics.median(values):.0f} | {p95:.0f} | {max(values):.0f} | "
                     f"{'yes' if p95 < P95_TARGET_MS else '**no**'} |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    use_redis = bool(args.redis_url) and reachable(args.redis_url, 6379)
    env = day_env(args, use_redis)
    os.environ.update(env)
    if not args.skip_migrate:
        log("Migrating")
        manage("migrate", "--noinput", "-v", "0", env=env)
    import django

    django.setup()
    from django.db import connection

    from workorders.models import WorkOrder

    port = free_port()
    host = f"http://127.0.0.1:{port}"
    log(f"{WorkOrder.objects.count():,} work orders; preparing the day's staff")
    plan = prepare(Namespace(mix=args.mix, sla_minutes=args.sla_minutes, short_share=args.short_share), [host])
    for step in settle():
        log(f"Settled: {step}")
    # (Each of the day's technicians has one job assigned to it: the preparation gives one to each without.)
    classes = set(args.only)
    tech_classes = {"tech jobs", "tech job", "tech status", "tech complete form", "tech photo"}
    connection.close()

    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    server = start_server(Namespace(workers=1), env, port)
    try:
        wait_until_idle([server.pid])
        pages = Pages(host, plan)
        total = args.n + args.warm
        log(f"Measuring {', '.join(args.only)}: {args.n} requests each after {args.warm} unmeasured, one at a time")
        for i in range(total):
            pages.measuring = i >= args.warm
            pages.customer(classes)
            pages.agent(classes)
            pages.dispatcher(classes)
            if "dashboard" in classes:
                pages.manager(classes)
        if classes & tech_classes:
            for i in range(total):
                pages.measuring = i >= args.warm
                pages.technician(i, classes)
    finally:
        stop_server(server)
    print(render(pages.times, [c for c in CLASSES if c in classes]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
