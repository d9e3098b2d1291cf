"""A periodic task's tick runs once (core/periodic.py): a second message for it is dropped, and a
run still going on keeps a second one of the same task from starting."""

import psycopg2
import pytest
from django.db import connection

from core.models import PeriodicRun
from core.periodic import LOCK_CLASS, lock_key, run_periodic
from tests.celery.support import database_url, wait_until

pytestmark = pytest.mark.django_db

TASK = "reports.tasks.reports_facts_sweep"


@pytest.fixture
def calls(monkeypatch):
    """The sweep's runs, counted (its body is tested elsewhere)."""
    from config.celery import app

    app.loader.import_default_modules()
    seen = []
    monkeypatch.setattr(app.tasks[TASK], "run", lambda: seen.append(1))
    return seen


def test_a_tick_runs_once_and_the_next_tick_runs_again(calls):
    assert run_periodic(TASK, 60, sent_at=6000.0) == "ran"
    assert run_periodic(TASK, 60, sent_at=6059.9) == "duplicate"  # the second beat, same minute
    assert run_periodic(TASK, 60, sent_at=6000.0) == "duplicate"  # a redelivered message
    assert run_periodic(TASK, 60, sent_at=5990.0) == "duplicate"  # a late message of an older tick
    assert run_periodic(TASK, 60, sent_at=6060.0) == "ran"
    assert len(calls) == 2
    row = PeriodicRun.objects.get(name=TASK)
    assert (row.tick, row.runs, row.duplicates) == (101, 2, 3)
    assert row.finished_at is not None


def test_while_one_run_holds_the_lock_another_is_dropped_as_busy(calls):
    other = psycopg2.connect(database_url(connection.settings_dict))
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, lock_key(TASK)])
        assert run_periodic(TASK, 60, sent_at=6000.0) == "busy"
        assert calls == []
    finally:
        other.close()  # a worker that dies releases its lock with its connection
    # (the server ends the closed session a moment later)
    wait_until(lambda: run_periodic(TASK, 60, sent_at=6000.0) == "ran", timeout=10, what="the lock's release")
    assert calls == [1]


def test_each_beat_entry_sends_the_periodic_runner_with_its_task_and_interval(settings):
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] == "core.tasks.periodic", name
        assert entry["args"][1] == entry["schedule"], name
