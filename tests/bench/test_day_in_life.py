"""The day-in-the-life load (bench/day/locustfile.py) still drives every page it measures.

The runner's own preparation (``bench/day_in_life.prepare``: staff sessions, a job for each
technician, tracking links, form bodies) on a small demo database, then locust for a few seconds
with think times cut to almost nothing, against a live server: every page class is requested
and none fails. A page whose form, link or answer changes so that the load would stop measuring
it (or would count errors) fails here first.
"""

import csv
import importlib.util
import json
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
PAGE_CLASSES = {
    "public form", "public form submit", "tracking", "agent intake", "agent create", "agent search",
    "customer search", "board poll", "board page", "assign", "tech jobs", "tech job", "tech status",
    "tech complete form", "tech photo", "dashboard",
}


@pytest.fixture
def server(transactional_db, settings):
    from django.test.utils import override_settings
    from pytest_django.live_server_helper import LiveServer

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP on loopback
    settings.PUBLIC_FORM_RATE = "100000/m"  # every request comes from 127.0.0.1
    with override_settings(SECURE_SSL_REDIRECT=False):
        live = LiveServer("127.0.0.1")
    yield live
    live.stop()


def test_every_page_class_of_the_day_is_requested_without_a_failure(server, tmp_path):
    # Not imported here: importing locust patches this process's sockets and threads for gevent.
    if importlib.util.find_spec("locust") is None:
        pytest.skip("locust is not installed: pip install -e '.[test]'")
    from bench.day_in_life import prepare

    call_command("seed_demo", work_orders=40, seed=3, no_progress=True, stdout=open("/dev/null", "w"))
    mix = {"customer": 3, "agent": 2, "dispatcher": 1, "technician": 2, "manager": 1}
    plan = prepare(Namespace(mix=mix, sla_minutes=2, short_share=0.25), [server.url])
    (tmp_path / "plan.json").write_text(json.dumps(plan))

    locust = Path(sys.executable).parent / "locust"
    result = subprocess.run(
        [str(locust), "-f", str(ROOT / "bench" / "day" / "locustfile.py"), "--headless", "-u", str(sum(mix.values())),
         "-r", "50", "-t", "10s", "--only-summary", "--csv", str(tmp_path / "day"), "--loglevel", "WARNING"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": str(locust.parent), "DAY_PLAN": str(tmp_path / "plan.json"), "DAY_WAIT_SCALE": "0.02"},
    )
    with open(tmp_path / "day_stats.csv", newline="") as fh:
        stats = {row["Name"]: row for row in csv.DictReader(fh) if row["Name"] != "Aggregated"}
    failures = (tmp_path / "day_failures.csv").read_text()
    assert {name for name, row in stats.items() if int(row["Failure Count"])} == set(), failures
    assert PAGE_CLASSES - set(stats) == set(), (result.stdout + result.stderr)[-3000:]
