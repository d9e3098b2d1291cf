"""Two beats started by mistake: each periodic task still runs once per tick, and when one beat
dies the other keeps them running (core/periodic.py).

Real processes on the real servers: one Celery worker and two beats (subprocesses) on Redis,
on a queue of their own, writing to the test database. The sweeps are scheduled every 2 s.

Skipped, with the reason shown, when no Redis answers.
"""

import re
import signal
import time
import uuid
from collections import Counter

import pytest

from core.models import PeriodicRun

from .support import CeleryProcesses, database_url, drop_queue, redis_reachable, redis_url, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

EVERY = 2
TASKS = ["workorders.tasks.sla_escalation_sweep", "workorders.tasks.notifications_sweep",
         "reports.tasks.reports_facts_sweep"]
RAN = re.compile(r"periodic (\S+) tick (\d+): running")


class TwoBeats(CeleryProcesses):
    def start(self):
        self._spawn("worker", ["worker", "--pool=solo", "-Q", self.queue, "-n", f"{self.queue}@%h",
                               "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"])
        for name in ("beat-a", "beat-b"):
            self._spawn(name, ["beat", "--schedule", str(self.tmp / f"{name}-schedule"), "--max-interval=1",
                               "--loglevel=INFO"])
        return self

    def wait_ready(self, timeout=60):
        wait_until(lambda: " ready." in self.log("worker"), timeout=timeout, what="the worker", logs=self.logs)

    def runs(self) -> list[tuple[str, int]]:
        return [(name, int(tick)) for name, tick in RAN.findall(self.log("worker"))]

    def sent(self, beat: str) -> int:
        return self.log(beat).count("Sending due task sla-escalation-sweep")


@pytest.fixture
def beats(tmp_path):
    from django.conf import settings

    url = redis_url()
    if not redis_reachable(url):
        pytest.skip(f"no Redis reachable at {url}; start redis-server or set REDIS_URL")
    queue = f"test-beats-{uuid.uuid4().hex[:10]}"
    procs = TwoBeats(
        broker=url, queue=queue, database=database_url(settings.DATABASES["default"]), tmp_path=tmp_path,
        env={"SLA_SWEEP_SECONDS": str(EVERY), "OUTBOX_SWEEP_SECONDS": str(EVERY),
             "REPORTS_SWEEP_SECONDS": str(EVERY), "SURVEY_SWEEP_SECONDS": "3600"},
    ).start()
    try:
        procs.wait_ready()
        yield procs
    finally:
        procs.stop()
        drop_queue(url, queue)


def test_two_beats_run_each_periodic_task_once_per_tick_and_one_keeps_them_going_when_the_other_dies(beats):
    # Given two beats and a worker, both beats sending every task every 2 s
    wait_until(lambda: beats.sent("beat-a") >= 4 and beats.sent("beat-b") >= 4, timeout=60,
               what="both beats to send four times", logs=beats.logs)
    wait_until(lambda: min(Counter(n for n, _t in beats.runs()).get(t, 0) for t in TASKS) >= 4, timeout=30,
               what="four runs of each task", logs=beats.logs)

    # Then each tick of each task ran once, though two messages came for it
    runs = beats.runs()
    assert [key for key, count in Counter(runs).items() if count > 1] == []
    rows = {row.name: row for row in PeriodicRun.objects.filter(name__in=TASKS)}
    assert set(rows) == set(TASKS)
    assert sum(row.duplicates for row in rows.values()) >= len(TASKS)  # the second beat's messages, refused
    for name in TASKS:
        assert rows[name].runs >= sum(1 for n, _t in runs if n == name)

    # When one beat dies without a word
    beats.procs["beat-a"].send_signal(signal.SIGKILL)
    beats.procs["beat-a"].wait(timeout=10)
    last = {name: max(t for n, t in beats.runs() if n == name) for name in TASKS}
    died_at = time.monotonic()

    # Then the other keeps every task running, tick after tick, still once per tick
    wait_until(lambda: all(sum(1 for n, t in beats.runs() if n == name and t > last[name]) >= 3 for name in TASKS),
               timeout=40, what="three more ticks of each task after one beat died", logs=beats.logs)
    assert time.monotonic() - died_at < 30
    runs = beats.runs()
    assert [key for key, count in Counter(runs).items() if count > 1] == []
