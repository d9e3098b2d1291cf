"""The read replica (core/db_router.py): the dashboard and its exports read from it, writes never
go there, and a replica that lags or does not answer is left for the primary.

Two connections to one PostgreSQL test database: "default", and "replica" (Django's TEST
MIRROR, tests/conftest.py) - a connection of its own, so a query shows up on the connection
it was sent to. The tests commit (transaction=True): the replica's connection sees committed
rows only, as a real standby does.
"""

import logging
from contextlib import contextmanager

import pytest
import time_machine
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import ServiceType
from core.db_router import LAG_SQL, forget_status, reading_alias, replica_reads
from core.observability import REQUEST_ID
from reports.models import WorkOrderFact
from tests.celery.support import free_port
from tests.reports.conftest import NOW
from tests.reports.helpers import WEEK, figures

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

FACTS = WorkOrderFact._meta.db_table


@pytest.fixture
def replica(settings):
    """The router on, as config/settings.py installs it with DATABASE_REPLICA_URL set; the
    replica's lag measured at every scope."""
    settings.REPLICA_DATABASE = "replica"
    settings.DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"]
    settings.REPLICA_CHECK_SECONDS = 0
    settings.REPLICA_MAX_LAG_SECONDS = 30
    forget_status()
    yield connections["replica"]
    forget_status()
    connections["replica"].close()


@contextmanager
def queries():
    """The statements sent to each connection meanwhile: (primary, replica)."""
    with CaptureQueriesContext(connections["default"]) as primary, \
            CaptureQueriesContext(connections["replica"]) as replica:
        yield primary, replica


def touching(captured, table) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if table in q["sql"]]


def _dashboard(client):
    with time_machine.travel(NOW, tick=False):
        return client.get("/reports/", WEEK)


@contextmanager
def replica_answering(sql):
    """The replica's lag statement answered by ``sql`` instead (the server says how far behind
    it is; the test picks the figure), every other statement as sent."""

    def wrapper(execute, statement, params, many, context):
        return execute(sql if statement == LAG_SQL else statement, params, many, context)

    with connections["replica"].execute_wrapper(wrapper):
        yield


def test_the_dashboard_reads_its_figures_from_the_replica_and_shows_what_the_primary_would(
    manager_client, replica, settings
):
    # Given the figures the dashboard shows from the primary alone
    settings.REPLICA_DATABASE = ""
    from_primary = figures(_dashboard(manager_client).content.decode())
    settings.REPLICA_DATABASE = "replica"

    # When a manager opens it with a replica in use
    with queries() as (primary, on_replica):
        answer = _dashboard(manager_client)

    # Then the report's queries went to the replica, none to the primary, and the page is the same
    assert answer.status_code == 200
    assert len(touching(on_replica, FACTS)) >= 5
    assert touching(primary, FACTS) == []
    assert on_replica.captured_queries[0]["sql"] == LAG_SQL
    assert figures(answer.content.decode()) == from_primary and from_primary


def test_an_export_is_read_from_the_replica(manager_client, replica, week):
    with queries() as (primary, on_replica):
        with time_machine.travel(NOW, tick=False):
            answer = manager_client.get(reverse("reports:export", args=["leaderboard", "csv"]), WEEK)
    assert answer.status_code == 200
    assert week.t1.user.last_name in answer.content.decode("utf-8-sig")
    assert touching(on_replica, FACTS) and touching(primary, FACTS) == []


def test_a_lagging_replica_is_left_for_the_primary_until_it_catches_up(manager_client, replica, caplog):
    # Given the replica 45 s behind (more than REPLICA_MAX_LAG_SECONDS, 30)
    with replica_answering("SELECT 45.0"), caplog.at_level(logging.WARNING, logger="core.db_router"):
        with queries() as (primary, on_replica):
            answer = _dashboard(manager_client)
    # Then the dashboard is read from the primary, and the reason is logged
    assert answer.status_code == 200 and figures(answer.content.decode())
    assert touching(primary, FACTS) and touching(on_replica, FACTS) == []
    assert [r.getMessage() for r in caplog.records] == [
        "Read replica not used, reading from the primary: lagging 45.0 s (over 30 s)"]
    # ... and once it has caught up, the dashboard reads from it again (logged too)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="core.db_router"), queries() as (primary, on_replica):
        assert _dashboard(manager_client).status_code == 200
    assert touching(on_replica, FACTS) and touching(primary, FACTS) == []
    assert [r.getMessage() for r in caplog.records] == ["Read replica in use again (lag 0.0 s)"]


def test_a_replica_whose_lag_is_unknown_is_not_used(manager_client, replica):
    with replica_answering("SELECT NULL"), queries() as (primary, on_replica):
        assert _dashboard(manager_client).status_code == 200
    assert touching(primary, FACTS) and touching(on_replica, FACTS) == []


@pytest.fixture
def replica_down(replica):
    """The replica's address now names a port nothing listens on."""
    conn = connections["replica"]
    original = conn.settings_dict
    conn.close()
    conn.settings_dict = {**original, "PORT": str(free_port())}
    yield
    conn.close()
    conn.settings_dict = original


def test_an_unreachable_replica_is_logged_and_the_dashboard_comes_from_the_primary(
    manager_client, replica_down, caplog
):
    with caplog.at_level(logging.WARNING, logger="core.db_router"), \
            CaptureQueriesContext(connections["default"]) as primary:  # (capturing would connect to the replica)
        answer = _dashboard(manager_client)
    assert answer.status_code == 200 and figures(answer.content.decode())
    assert touching(primary, FACTS)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and messages[0].startswith(
        "Read replica not used, reading from the primary: unreachable (OperationalError")
    # /readyz says so (while the reports go on from the primary)
    check = manager_client.get("/readyz").json()["checks"]["replica"]
    assert check["ok"] is False and check["lag_seconds"] is None


def test_readyz_tells_the_replica_and_its_lag(client, replica, settings):
    settings.READY_BEAT_MAX_AGE_SECONDS = 0  # no beat runs here: leave its check out
    body = client.get("/readyz").json()
    assert body["checks"]["replica"]["ok"] is True and body["checks"]["replica"]["lag_seconds"] == 0.0
    assert body["ok"] is True, body
    with replica_answering("SELECT 31.5"):
        body = client.get("/readyz").json()
    assert body["checks"]["replica"]["ok"] is False and body["checks"]["replica"]["lag_seconds"] == 31.5
    assert body["ok"] is False


def test_readyz_has_no_replica_entry_without_one(client, settings):
    settings.REPLICA_DATABASE = ""
    assert "replica" not in client.get("/readyz").json()["checks"]


def test_writes_go_to_the_primary_and_later_reads_of_that_request_too(replica):
    token = REQUEST_ID.set("a-request")
    try:
        with replica_reads() as alias:
            assert alias == "replica"
            with queries() as (primary, on_replica):
                assert ServiceType.objects.filter(code="ac-repair").exists() is False  # a read: the replica
                ServiceType.objects.create(code="ac-repair", name="Air conditioner repair")  # a write: the primary
                found = ServiceType.objects.filter(code="ac-repair").exists()  # read-your-writes: the primary
            assert found is True and reading_alias() == "default"
        table = ServiceType._meta.db_table
        assert [q.split()[0] for q in touching(on_replica, table)] == ["SELECT"]
        assert [q.split()[0] for q in touching(primary, table)] == ["INSERT", "SELECT"]
        # A later scope of the same request still reads the primary ...
        with replica_reads() as alias:
            assert alias == "default"
    finally:
        REQUEST_ID.reset(token)
    # ... and the next request the replica again
    token = REQUEST_ID.set("the-next-request")
    try:
        with replica_reads() as alias:
            assert alias == "replica"
    finally:
        REQUEST_ID.reset(token)


def test_outside_a_scope_everything_reads_the_primary(replica):
    with queries() as (primary, on_replica):
        assert list(ServiceType.objects.filter(code="nothing")) == []
    assert on_replica.captured_queries == [] and primary.captured_queries


def test_the_admins_export_of_master_data_is_read_from_the_replica(client, replica):
    from customers.models import Customer
    from tests.factories import CustomerFactory, UserFactory

    CustomerFactory(code="C9", name="Pudong Dental Clinic", phone="+8613812345678")
    # A superuser: the role groups' permissions may have been flushed by an earlier transactional test.
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    fields = ("code", "name", "phone", "email", "tier", "language", "notes")
    with queries() as (primary, on_replica):
        answer = client.post("/admin/customers/customer/export/", {
            "format": "0", "export_items": [], **{f"customerresource_{name}": "on" for name in fields}})
    assert answer.status_code == 200 and "Pudong Dental Clinic" in answer.content.decode("utf-8-sig")
    table = Customer._meta.db_table
    assert touching(on_replica, table) and touching(primary, table) == []
