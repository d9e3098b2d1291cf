"""Keyset pagination: a page costs the same on page 1 and on page 10,000.

The cursor is the sort key of the last row shown; the next page is the rows
after it in index order, found with a row-value comparison such as
``(priority, id) < (3, 81234)`` that PostgreSQL answers from an index. No
``COUNT(*)`` over the table is ever needed.
"""

import base64
import json
from dataclasses import dataclass

from django.db.models import F
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils.translation import gettext as _

from .errors import InvalidInput

# Each sort is a tuple of fields all in one direction, ending with the unique id.
SORTS = {
    "-id": ("-id",),
    "id": ("id",),
    "-priority": ("-priority", "-id"),
    "priority": ("priority", "id"),
}


@dataclass
class Page:
    items: list
    next_cursor: str | None
    prev_cursor: str | None
    sort: str


def _encode(values, direction: str) -> str:
    raw = json.dumps([direction, list(values)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, width: int):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        direction, values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if direction not in ("next", "prev") or len(values) != width or not all(isinstance(v, int) for v in values):
            raise ValueError
        return direction, values
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput(_("The page cursor is not valid."), fields={"cursor": [_("Not a valid cursor.")]}) from None


def keyset_page(queryset, *, sort: str = "-id", cursor: str | None = None, size: int = 50) -> Page:
    """One page of ``queryset`` in ``sort`` order, after (or before) ``cursor``."""
    if sort not in SORTS:
        raise InvalidInput(
            _("Unknown sort %(sort)s.") % {"sort": sort},
            fields={"sort": [_("Choose one of %(sorts)s.") % {"sorts": ", ".join(SORTS)}]},
        )
    fields = SORTS[sort]
    names = [f.lstrip("-") for f in fields]
    descending = fields[0].startswith("-")
    direction, values = ("next", None) if not cursor else _decode(cursor, len(fields))
    key = Tuple(*[F(n) for n in names])

    backwards = direction == "prev"
    qs = queryset
    if values is not None:
        # Forward on a descending sort means "smaller keys", and so on.
        go_smaller = descending != backwards
        qs = qs.filter(TupleLessThan(key, values) if go_smaller else TupleGreaterThan(key, values))
    order = fields if not backwards else tuple(n if f.startswith("-") else f"-{n}" for f, n in zip(fields, names))
    rows = list(qs.order_by(*order)[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
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
