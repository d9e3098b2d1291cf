"""A peak day of the field-service system, played by locust (started by ``bench/day_in_life.py``).

Five roles, each a user class; how many of each comes from the plan the runner writes
(``DAY_PLAN``, a JSON file: the servers' addresses, the staff sessions, tracking links, search
terms and form bodies), so the mix is fixed and stated, not left to chance:

- **customers** open the public request form and submit it (1 in 4 visits), or open a tracking
  link (3 in 4), every 10-40 s;
- **agents** take phone calls: look the caller up and create the order (1 task in 4), search the
  work orders (2 in 4) or the customers (1 in 4), every 5-15 s;
- **dispatchers** poll the board's data every 8-12 s as the page does (``DISPATCH_REFRESH_SECONDS``)
  and assign an order from the queue to a technician every third poll;
- **technicians** tap through their jobs (list, job, accept, depart, arrive, the completion form,
  the completion with two photos and a signature), one tap every 5-15 s;
- **managers** open the KPI dashboard every 30-90 s.

Requests are named by page class (``name=``), so locust's statistics group them: "public form",
"public form submit", "tracking", "agent intake", "agent create", "agent search", "customer
search", "board poll", "assign", "tech jobs", "tech job", "tech status", "tech complete form",
"tech photo", "dashboard". A response other than the one the page gives on success is a failure.

Loopback only: the plan names 127.0.0.1 addresses.
"""

import itertools
import json
import os
import random
import re
import uuid

from day_media import photo_jpeg, signature_data_url  # beside this file: locust puts its folder on the path
from locust import HttpUser, between, task

PLAN_ENV = "DAY_PLAN"
# Think times are multiplied by this (tests/bench run the day in seconds with a small one).
WAIT_SCALE = float(os.environ.get("DAY_WAIT_SCALE") or 1)
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
JOB_LINK = re.compile(r'href="/tech/jobs/(\d+)/"')
ACTION_INPUT = re.compile(r'name="action" value="(\w+)"')
CHECK_INPUT = re.compile(r'name="check_(\d+)"')
KEY_INPUT = re.compile(r'name="submission_key" value="([^"]+)"')


def load_plan(path=None):
    path = path or os.environ.get(PLAN_ENV)
    if not path:
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


PLAN = load_plan()
MIX = (PLAN or {}).get("mix", {})  # users of each role (bench/day_in_life.py states the day's)
_serial = itertools.count()


def think(low, high):
    return between(low * WAIT_SCALE, high * WAIT_SCALE)


def fill(template, csrf=""):
    """A form body with fresh values, as ``bench/run.py``'s ``fill`` makes them, and the user's CSRF token."""
    return (template.replace("__UUID__", str(uuid.uuid4()))
            .replace("__PHONE__", f"+86139{random.randrange(10**8):08d}")
            .replace("__CSRF__", csrf))


def csrf_token(html):
    match = CSRF_INPUT.search(html or "")
    return match.group(1) if match else ""


PHOTOS = [photo_jpeg(seed=s) for s in (7, 11)]
SIGNATURE = signature_data_url()


class DayUser(HttpUser):
    """What every role shares: a node of the plan (users alternate between the web nodes, as a
    proxy spreads them), a staff session when the role has one."""

    abstract = True
    role = ""
    host = ((PLAN or {}).get("hosts") or [None])[0]

    def on_start(self):
        plan = PLAN or {}
        self.plan = plan
        self.serial = next(_serial)
        hosts = plan.get("hosts") or [self.host]
        self.client.base_url = hosts[self.serial % len(hosts)]
        self.index = self.role_index()
        sessions = plan.get("sessions", {}).get(self.role, [])
        if sessions:
            self.client.cookies.set(plan["session_cookie"], sessions[self.index % len(sessions)])

    _counters: dict = {}

    @classmethod
    def role_index(cls):
        counter = DayUser._counters.setdefault(cls.role, itertools.count())
        return next(counter)

    def expect(self, method, path, name, status=(200,), **kwargs):
        """One request; a failure unless it answers one of ``status``. The response (or None)."""
        kwargs.setdefault("allow_redirects", False)
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as response:
            if response.status_code not in status:
                response.failure(f"{method} {path} answered {response.status_code}")
                return None
            response.success()
            return response


class Customer(DayUser):
    role = "customer"
    fixed_count = MIX.get("customer", 0)
    wait_time = think(10, 40)

    @task(1)
    def submit_request(self):
        page = self.expect("GET", "/request/", "public form")
        if page is None:
            return
        template = random.choice(self.plan["public_form_bodies"])
        self.expect("POST", "/request/", "public form submit", status=(302, 303),
                    data=fill(template, csrf_token(page.text)).encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": self.client.base_url})

    @task(3)
    def open_tracking_link(self):
        token = random.choice(self.plan["tracking_tokens"])
        self.expect("GET", f"/track/{token}/", "tracking")


class Agent(DayUser):
    role = "agent"
    fixed_count = MIX.get("agent", 0)
    wait_time = think(5, 15)

    @task(1)
    def take_a_call(self):
        phone = random.choice(self.plan["customer_phones"])
        page = self.expect("GET", f"/staff/work-orders/new/?phone={phone}", "agent intake")
        if page is None:
            return
        template = random.choice(self.plan["intake_bodies"])
        self.expect("POST", "/staff/work-orders/new/", "agent create", status=(302, 303),
                    data=fill(template, csrf_token(page.text)).replace("__CALLER__", phone).encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": self.client.base_url})

    @task(2)
    def search_work_orders(self):
        self.expect("GET", "/staff/work-orders/search/", "agent search",
                    params={"q": random.choice(self.plan["search_terms"])})

    @task(1)
    def search_customers(self):
        self.expect("GET", "/staff/customers/", "customer search", params={"q": random.choice(self.plan["search_terms"])})


class Dispatcher(DayUser):
    role = "dispatcher"
    fixed_count = MIX.get("dispatcher", 0)
    wait_time = think(8, 12)

    def on_start(self):
        super().on_start()
        self.version = ""
        self.rows = []
        self.polls = 0
        self.csrf = ""

    @task
    def poll_and_assign(self):
        response = self.expect("GET", "/dispatch/board.json", "board poll", params={"version": self.version})
        if response is None:
            return
        data = response.json()
        self.version = data.get("version", "")
        if data.get("changed"):
            # Dispatchers share the queue; each takes the orders of its own share of ids, as a
            # team splits it by area, so that two never reach for the same order.
            count = max(1, self.plan.get("mix", MIX).get("dispatcher", 1))
            self.rows = [row["id"] for row in data["board"]["queue"]["rows"] if row["id"] % count == self.index % count]
        self.polls += 1
        if self.polls % 3 == 0 and self.rows:
            self.assign(self.rows.pop(0))

    def assign(self, pk):
        if not self.csrf:
            # The CSRF cookie comes with the board page, which a dispatcher opens once.
            self.expect("GET", "/dispatch/", "board page")
            self.csrf = self.client.cookies.get(self.plan["csrf_cookie"], "")
        technicians = self.plan["technician_ids"]
        response = self.expect(
            "POST", f"/dispatch/work-orders/{pk}/assign/", "assign",
            data={"action": "assign", "technician": random.choice(technicians)},
            headers={"X-CSRFToken": self.csrf, "Accept": "application/json", "Referer": self.client.base_url},
        )
        if response is not None and not response.json().get("ok"):
            response.failure(f"assign {pk}: {response.text[:200]}")


class Technician(DayUser):
    role = "technician"
    fixed_count = MIX.get("technician", 0)
    wait_time = think(5, 15)

    def on_start(self):
        super().on_start()
        self.job = None
        self.last = None

    @task
    def tap(self):
        if self.job is None:
            page = self.expect("GET", "/tech/", "tech jobs")
            jobs = JOB_LINK.findall(page.text) if page is not None else []
            if not jobs:
                return
            self.job = int(jobs[0])
            return
        pk = self.job
        page = self.expect("GET", f"/tech/jobs/{pk}/", "tech job")
        if page is None:
            self.job = None
            return
        actions = ACTION_INPUT.findall(page.text)
        step = next((a for a in ("accept", "depart", "arrive") if a in actions), None)
        if step is None and f'href="/tech/jobs/{pk}/complete/"' in page.text:
            step = "complete"
        if step is None:  # done, or in a state the technician cannot move
            self.job = None
            return
        if (pk, step) == self.last:
            # The page offered the same step again: the previous tap was refused.
            self.client.request_event.fire(request_type="POST", name="tech status refused", response_time=0,
                                           response_length=0, exception=RuntimeError(f"{step} on {pk} refused"),
                                           context={})
        self.last = (pk, step)
        if step == "complete":
            self.complete(pk)
            return
        data = {"csrfmiddlewaretoken": csrf_token(page.text), "action": step, "latitude": "31.2304",
                "longitude": "121.4737"}
        if step == "depart":
            data["early_ok"] = "1"
        self.expect("POST", f"/tech/jobs/{pk}/status/", "tech status", status=(302,), data=data,
                    headers={"Referer": self.client.base_url})

    def complete(self, pk):
        form = self.expect("GET", f"/tech/jobs/{pk}/complete/", "tech complete form")
        if form is None:
            return
        key = KEY_INPUT.search(form.text)
        data = [("csrfmiddlewaretoken", csrf_token(form.text)), ("submission_key", key.group(1) if key else ""),
                ("work_done", "更换排水泵，试机正常。Replaced the drain pump; tested."), ("labour_minutes", "45"),
                ("signer_name", "李雷"), ("signature", SIGNATURE), ("photo_meta", "[]")]
        data += [(f"check_{item}", "done") for item in sorted(set(CHECK_INPUT.findall(form.text)))]
        files = [("photos", (f"photo-{i}.jpg", content, "image/jpeg")) for i, content in enumerate(PHOTOS)]
        response = self.expect("POST", f"/tech/jobs/{pk}/complete/", "tech photo", status=(302,), data=data,
                               files=files, headers={"Referer": self.client.base_url})
        if response is not None:
            self.job = None


class Manager(DayUser):
    role = "manager"
    fixed_count = MIX.get("manager", 0)
    wait_time = think(30, 90)

    @task
    def dashboard(self):
        self.expect("GET", "/reports/", "dashboard")
