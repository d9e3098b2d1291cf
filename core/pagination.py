"""Keyset pagination: a page costs the same on page 1 and on page 10,000.

The cursor is the sort key of the last row shown; the next page is the rows
after it in index order, found with a row-value comparison such as
``(priority, id) < (3, 81234)`` that PostgreSQL answers from an index. No
``COUNT(*)`` over the table is ever needed.

``keyset_page_compiled`` is the same page for the busiest lists (the staff queue,
the API list): their SQL is compiled once per process for each key (what decides
the query: visibility scope, filters) and shape (sort, direction, size), and each
request only puts its cursor into it; on PostgreSQL it runs as a prepared statement
(``core/compiled.py``).
"""

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import F
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils.translation import gettext as _

from .compiled import EMPTY, NOT_COMPILED, STAND_IN, compile_values
from .errors import InvalidInput

# Each sort is a tuple of fields all in one direction, ending with the unique id.
SORTS = {
    "-id": ("-id",),
    "id": ("id",),
    "-priority": ("-priority", "-id"),
    "priority": ("priority", "id"),
}
# Sorts by a moment (for an integration syncing what changed since its last run): the
# API's lists only. Their cursors hold the moment as ISO 8601 text; they run as plain
# querysets (``keyset_page``), not from compiled SQL, whose stand-ins are integers.
TIME_SORTS = {
    "updated_at": ("updated_at", "id"),
    "-updated_at": ("-updated_at", "-id"),
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
}
API_SORTS = {**SORTS, **TIME_SORTS}
_TIME_KEYS = frozenset(n.lstrip("-") for fields in TIME_SORTS.values() for n in fields) - {"id"}


@dataclass
class Page:
    items: list
    next_cursor: str | None
    prev_cursor: str | None
    sort: str


def _encode(values, direction: str) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([direction, values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# The sort keys are bigint and smallint columns: a cursor's value beyond 64 bits would reach
# PostgreSQL and fail there ("bigint out of range", a 500).
_KEY_MIN, _KEY_MAX = -(2**63), 2**63 - 1


def _is_key(value) -> bool:
    return type(value) is int and _KEY_MIN <= value <= _KEY_MAX


def _moment(value) -> datetime:
    """A cursor's moment: ISO 8601 text with its offset (a cursor this module wrote)."""
    if type(value) is not str or len(value) > 40:
        raise ValueError
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError
    return moment.astimezone(UTC)  # an offset PostgreSQL would refuse: OverflowError or UTC


def _decode(cursor: str, names):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        direction, values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if direction not in ("next", "prev") or type(values) is not list or len(values) != len(names):
            raise ValueError
        values = [_moment(v) if n in _TIME_KEYS else v for n, v in zip(names, values)]
        if not all(_is_key(v) for n, v in zip(names, values) if n not in _TIME_KEYS):
            raise ValueError
        return direction, values
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput(_("The page cursor is not valid."), fields={"cursor": [_("Not a valid cursor.")]}) from None


def _plan(sort: str, cursor: str | None, sorts: dict = SORTS):
    """The sort's fields, their names, whether it descends, and the cursor's direction and key."""
    if sort not in sorts:
        raise InvalidInput(
            _("Unknown sort %(sort)s.") % {"sort": sort},
            fields={"sort": [_("Choose one of %(sorts)s.") % {"sorts": ", ".join(sorts)}]},
        )
    fields = sorts[sort]
    names = [f.lstrip("-") for f in fields]
    descending = fields[0].startswith("-")
    direction, values = ("next", None) if not cursor else _decode(cursor, names)
    return fields, names, descending, direction, values


def _page_queryset(queryset, fields, names, descending, direction, values, size):
    """``queryset`` after (or before) the key ``values``, in the page's order, one row more than a page."""
    key = Tuple(*[F(n) for n in names])
    backwards = direction == "prev"
    qs = queryset
    if values is not None:
        # Forward on a descending sort means "smaller keys", and so on.
        go_smaller = descending != backwards
        qs = qs.filter(TupleLessThan(key, values) if go_smaller else TupleGreaterThan(key, values))
    order = fields if not backwards else tuple(n if f.startswith("-") else f"-{n}" for f, n in zip(fields, names))
    return qs.order_by(*order)[: size + 1]


def _page(rows: list, names, direction, values, size, sort) -> Page:
    has_more = len(rows) > size
    rows = rows[:size]
    backwards = direction == "prev"
    if backwards:
        rows.reverse()

    def key_of(obj):
        # Rows are model instances, or dicts from ``.values()``.
        if isinstance(obj, dict):
            return [obj[n] for n in names]
        return [getattr(obj, n) for n in names]

    next_cursor = prev_cursor = None
    if rows:
        if has_more or backwards:
            next_cursor = _encode(key_of(rows[-1]), "next")
        if values is not None and (not backwards or has_more):
            prev_cursor = _encode(key_of(rows[0]), "prev")
    return Page(items=rows, next_cursor=next_cursor, prev_cursor=prev_cursor, sort=sort)


def keyset_page(queryset, *, sort: str = "-id", cursor: str | None = None, size: int = 50,
                sorts: dict = SORTS) -> Page:
    """One page of ``queryset`` in ``sort`` order (one of ``sorts``), after (or before) ``cursor``."""
    fields, names, descending, direction, values = _plan(sort, cursor, sorts)
    rows = list(_page_queryset(queryset, fields, names, descending, direction, values, size))
    return _page(rows, names, direction, values, size, sort)


# --- The same page from SQL compiled once per process -----------------------------------------
# Building a filtered queryset and compiling it cost a list request more CPU than
# PostgreSQL spends running the query. The compiled SQL depends only on what built
# the queryset (the caller's key), the sort, the direction and the page size; the
# cursor's key goes in as parameters (core/compiled.py), and on PostgreSQL the SQL
# runs as a statement prepared once per connection.

_STAND_IN = STAND_IN


class CompiledPages:
    """Compiled SQL of keyset pages, kept per process (at most ``max_entries`` shapes)."""

    def __init__(self, max_entries: int = 500):
        self.max_entries = max_entries
        self._entries: dict = {}

    def clear(self) -> None:
        self._entries = {}

    def page(self, key, build, *, sort: str = "-id", cursor: str | None = None, size: int = 50) -> Page:
        """``keyset_page(build(), sort=sort, cursor=cursor, size=size)``, with the SQL kept.

        ``build()`` returns a ``values()`` queryset and is called only when the SQL for
        ``key`` and this shape is not kept yet (twice then, for a page after a cursor).
        ``key`` (hashable) must tell apart every queryset ``build`` can return: whatever
        decides its SQL and its parameters (the filters' values, the visibility scope).
        """
        plan = _plan(sort, cursor)
        fields, names, descending, direction, values = plan
        shape = (key, sort, None if values is None else direction, size)
        entry = self._entries.get(shape)
        if entry is None:
            entry = compile_values(
                lambda stand_ins: _page_queryset(
                    build(), fields, names, descending, direction,
                    None if values is None else [stand_ins[i] for i in range(len(values))], size,
                ),
                () if values is None else range(len(values)),
                "page",
            )
            if len(self._entries) >= self.max_entries:
                self._entries = {}
            self._entries[shape] = entry
        if entry is NOT_COMPILED:
            return keyset_page(build(), sort=sort, cursor=cursor, size=size)
        if entry is EMPTY:
            return _page([], names, direction, values, size, sort)
        return _page(entry.rows(values or ()), names, direction, values, size, sort)


COMPILED_PAGES = CompiledPages()


def keyset_page_compiled(key, build, *, sort: str = "-id", cursor: str | None = None, size: int = 50) -> Page:
    """``CompiledPages.page`` with the process's store."""
    return COMPILED_PAGES.page(key, build, sort=sort, cursor=cursor, size=size)
