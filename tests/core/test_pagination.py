"""Keyset pages from SQL compiled once per process give the same rows and links as
pages built the long way, whatever the sort, the direction and the filters."""

import random

import pytest

from core import pagination
from core.pagination import CompiledPages, keyset_page
from tests.factories import WorkOrderFactory
from workorders.lifecycle import Status
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db

FIELDS = ("id", "priority", "status", "created_at", "customer__name")


def _walk(page_of, sort):
    """Every page forward from the first, then back from the last: (ids, next, prev) of each."""
    pages, cursor = [], None
    while True:
        page = page_of(sort, cursor)
        pages.append(([row["id"] for row in page.items], page.next_cursor, page.prev_cursor))
        if page.next_cursor is None or len(pages) > 50:
            break
        cursor = page.next_cursor
    cursor = pages[-1][2]
    while cursor is not None and len(pages) < 100:
        page = page_of(sort, cursor)
        pages.append(([row["id"] for row in page.items], page.next_cursor, page.prev_cursor))
        cursor = page.prev_cursor
    return pages


@pytest.mark.parametrize("sort", list(pagination.SORTS))
def test_kept_sql_walks_the_same_pages_as_the_long_way(sort):
    rng = random.Random(7)
    for _ in range(17):
        WorkOrderFactory(priority=rng.randint(1, 4), status=rng.choice([Status.NEW, Status.ASSIGNED, Status.CLOSED]))
    kept = CompiledPages()
    filters = {
        "all": lambda: WorkOrder.objects.values(*FIELDS),
        "open": lambda: WorkOrder.objects.filter(status__in=[Status.NEW, Status.ASSIGNED]).values(*FIELDS),
        "none": lambda: WorkOrder.objects.none().values(*FIELDS),
        # A filter whose own value is the stand-in the cursor's key is compiled with: it stays a filter.
        "stand-in": lambda: WorkOrder.objects.filter(id__gt=pagination._STAND_IN).values(*FIELDS),
    }
    for name, build in filters.items():
        for size in (1, 4, 50):
            long_way = _walk(lambda s, c: keyset_page(build(), sort=s, cursor=c, size=size), sort)
            for _again in range(2):
                assert _walk(lambda s, c: kept.page(name, build, sort=s, cursor=c, size=size), sort) == long_way
            if name != "none":
                assert sum(len(ids) for ids, _next, _prev in long_way) >= 10


def test_kept_sql_gives_the_same_values_as_the_orm():
    WorkOrderFactory.create_batch(3)
    kept = CompiledPages()
    build = lambda: WorkOrder.objects.values(*FIELDS)  # noqa: E731
    assert kept.page("k", build).items == keyset_page(build()).items
    assert kept.page("k", build).items == keyset_page(build()).items
