"""Kept SQL run as prepared statements (core/compiled.py): the same answers as plain SQL,
and a connection whose statements are gone, or a new connection, still answers."""

import pytest
from django.db import DataError, connection, transaction

from core import compiled
from core.compiled import Statement, execute
from core.pagination import CompiledPages, keyset_page
from tests.factories import WorkOrderFactory, workorder_via_service
from workorders import selectors
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = ("id", "priority", "status", "created_at", "customer__name")


def _pages(page_of, sort, size):
    """(ids, next, prev) of every page forward from the first."""
    pages, cursor = [], None
    while len(pages) < 20:
        page = page_of(sort=sort, cursor=cursor, size=size)
        pages.append(([row["id"] for row in page.items], page.next_cursor, page.prev_cursor))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return pages


def _walk(kept, key, build, sort="-priority", size=2):
    return _pages(lambda **shape: kept.page(key, build, **shape), sort, size)


def _long_way(build, sort="-priority", size=2):
    return _pages(lambda **shape: keyset_page(build(), **shape), sort, size)


def _server_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def _build():
    return WorkOrder.objects.filter(status="new").values(*FIELDS)


@pytest.fixture
def orders():
    for priority in (1, 2, 2, 3, 4, 4, 1):
        WorkOrderFactory(priority=priority, status="new")
    WorkOrderFactory(status="closed")


def test_prepared_pages_are_the_pages_of_plain_sql(orders, settings):
    expected = _long_way(_build)
    assert len(expected) == 4
    kept = CompiledPages()
    for _ in range(7):  # past the fifth run, when PostgreSQL may switch to a generic plan
        assert _walk(kept, "new", _build) == expected
    settings.DB_PREPARED_STATEMENTS = False
    assert _walk(CompiledPages(), "new", _build) == expected


def test_pages_and_creates_survive_deallocate_all(orders):
    kept = CompiledPages()
    expected = _walk(kept, "new", _build)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert _walk(kept, "new", _build) == expected
    with connection.cursor() as cursor:
        cursor.execute("DISCARD ALL")
    created = workorder_via_service()
    assert WorkOrder.objects.filter(pk=created.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert workorder_via_service().pk > created.pk
    assert _walk(kept, "new", _build) == _long_way(_build) != expected  # with the two new orders


def test_a_closed_and_reopened_connection_answers(orders):
    kept = CompiledPages()
    expected = _walk(kept, "new", _build)
    order = WorkOrder.objects.get(status="closed")
    detail = selectors._DETAIL_QUERIES["all"].rows(pk=order.pk)
    connection.close()
    assert _walk(kept, "new", _build) == expected
    assert selectors._DETAIL_QUERIES["all"].rows(pk=order.pk) == detail
    assert detail[0]["status"] == "closed"


def test_a_connection_keeps_a_bounded_number_of_statements(orders, monkeypatch):
    monkeypatch.setattr(compiled, "MAX_PREPARED", 3)
    connection.close()  # a fresh connection: none prepared yet
    kept = CompiledPages()
    sorts = ("-priority", "priority", "-id", "id")
    expected = {sort: _long_way(_build, sort=sort) for sort in sorts}
    for _ in range(2):
        for sort in sorts:
            assert _walk(kept, "new", _build, sort=sort) == expected[sort]
            ours = {name for name in _server_statements() if name.startswith("page_")}
            assert 0 < len(ours) <= 3
            assert set(compiled.prepared_names(connection)) == ours


def test_a_failed_first_run_leaves_the_connection_usable_in_a_transaction():
    connection.close()
    statement = Statement("SELECT 100 / %s, '100%%'")
    with pytest.raises(DataError), transaction.atomic(), connection.cursor() as cursor:
        execute(cursor, statement, [0])
    with transaction.atomic(), connection.cursor() as cursor:
        execute(cursor, statement, [4])
        assert cursor.fetchall() == [(25, "100%")]
    with connection.cursor() as cursor:
        execute(cursor, Statement("SELECT '50%%'"), [])
        assert cursor.fetchall() == [("50%",)]


def test_filter_values_with_quotes_and_percent_signs_find_the_same_rows():
    tricky = "O'Brien 100% \\ $1 ;--"
    named = WorkOrderFactory(customer__name=tricky, status="new")
    WorkOrderFactory(status="new")

    def build():
        return WorkOrder.objects.filter(customer__name=tricky, status="new").values(*FIELDS)

    kept = CompiledPages()
    for _ in range(3):
        assert _walk(kept, ("name", tricky), build) == _long_way(build)
        assert [row["id"] for row in kept.page(("name", tricky), build).items] == [named.pk]


def _plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def test_generic_plans_stay_after_the_first_statement_was_prepared_in_a_rolled_back_transaction(orders):
    """The first PREPARE of a connection inside a transaction that is rolled back (a request
    that failed afterwards) must not leave the connection planning every run anew."""
    connection.close()

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        _walk(CompiledPages(), "new", _build)
        raise Undo
    assert _plan_cache_mode() == "force_generic_plan"
    with connection.cursor() as cursor:
        cursor.execute("DISCARD ALL")
    assert _plan_cache_mode() == "force_generic_plan"


def test_a_first_run_that_failed_before_its_prepare_is_prepared_on_the_next_run(orders):
    """A list page whose first run on a connection timed out waiting for a lock (someone
    altering the table) did not get prepared; the next page, inside a transaction as a
    request's would be, must still answer instead of "prepared statement does not exist"."""
    import psycopg2
    from django.db import OperationalError

    connection.close()
    settings_dict = connection.settings_dict
    other = psycopg2.connect(
        dbname=settings_dict["NAME"], user=settings_dict["USER"], host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None, password=settings_dict["PASSWORD"] or None,
    )
    kept = CompiledPages()
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN; LOCK TABLE workorders_workorder IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(OperationalError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
            _walk(kept, "new", _build)
    finally:
        other.rollback()
        other.close()
    with transaction.atomic():
        assert _walk(kept, "new", _build) == _long_way(_build)
