"""Rows that depend on each other, written by ONE PostgreSQL statement.

Creating a work order writes a customer, a site, the order, its creation event and
the order's summary row for the reports, each needing the id of one written before.
As separate INSERTs between BEGIN and COMMIT that is seven round trips to PostgreSQL
and five statements to parse and plan; as data-modifying CTEs

    WITH c AS (INSERT INTO customer (...) VALUES (...) ON CONFLICT (phone) DO NOTHING RETURNING id AS id),
         s AS (INSERT INTO site (customer_id, ...) SELECT c.id, %s, ... FROM c RETURNING id AS id),
         w AS (INSERT INTO workorder (customer_id, site_id, ...) SELECT c.id, s.id, %s, ... FROM c, s
               RETURNING id AS id),
         ...
    SELECT c.id, s.id, w.id FROM c, s, w

it is one statement, and outside a transaction block it commits by itself (one
round trip, one WAL flush). A row linked to one that was not written (above: the
phone number was already on file, so ``c`` is empty) is not written either, and
the statement then answers no row. Any error (a unique key taken, a check failing)
undoes every part of it.

Each shape of statement is prepared once per database connection (``PREPARE``,
then ``EXECUTE`` with the values): parsing, analysing and planning a statement that
writes five tables cost PostgreSQL more than running it (pgbench, one client, the
creation statement with ``synchronous_commit`` off: 0.65-0.8 ms unprepared,
0.25-0.3 ms prepared).
Preparing is ``core.compiled.execute``'s (as for the lists' and the detail's reads):
a prepared statement lives as long as the connection and survives a rollback; if one
is gone all the same (``DEALLOCATE``), it is prepared again.

Values go in as parameters exactly as Django's ``save()`` would send them
(``get_db_prep_save``), except plain strings, numbers, booleans, NULLs and aware
datetimes, which go as they are (what that conversion would return for them).
PostgreSQL takes each parameter's type from the column it is written to.
No model signals are sent.

Below, many rows of one model (``bulk_insert``), or lists of rows of several models
(``insert_together``), go in as ONE JSON parameter that ``jsonb_to_recordset`` reads:
the outbox's messages, the SLA sweep's escalation events, a bulk assignment's events.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from decimal import Decimal
from uuid import UUID

from django.db import connection, models
from django.db.models.fields import AutoFieldMixin

from .compiled import Statement, execute


@dataclass(frozen=True)
class Insert:
    """One row of ``model``.

    ``values``: every concrete column's value by attribute name (``customer_id``),
    except an automatic primary key and the columns in ``links``. ``links``: columns
    that take the new id of an earlier ``Insert``, by its alias. ``on_conflict``: what
    follows ``ON CONFLICT``, e.g. ``(phone) DO NOTHING``. With ``returning`` the new
    row's primary key is part of the answer (and other rows may link to it).
    """

    alias: str
    model: type
    values: dict
    links: dict = field(default_factory=dict)
    on_conflict: str = ""
    returning: bool = True


@dataclass(frozen=True)
class Part:
    """Another data-modifying statement run with the others (an UPDATE), by its SQL and
    parameters (``%s`` in ``sql`` marks a parameter and nothing else)."""

    alias: str
    sql: str
    params: tuple = ()


_PLAIN_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.BooleanField,
                 models.DateTimeField, models.ForeignKey)
_PLAIN_VALUES = frozenset({str, int, bool, type(None)})
_COLUMNS: dict = {}
_SQL: dict = {}  # a statement's shape -> its Statement


def _columns(model) -> list[tuple]:
    """(attname, column, field, plain) of each column an INSERT writes."""
    found = _COLUMNS.get(model)
    if found is None:
        found = _COLUMNS[model] = [
            (f.attname, f.column, f, isinstance(f, _PLAIN_FIELDS))
            for f in model._meta.concrete_fields
            if not (f.primary_key and isinstance(f, AutoFieldMixin))
        ]
    return found


def _insert_sql(part: Insert) -> str:
    qn = connection.ops.quote_name
    meta = part.model._meta
    names = [column for attname, column, _f, _p in _columns(part.model)]
    exprs = [f"{part.links[attname]}.id" if attname in part.links else "%s"
             for attname, _c, _f, _p in _columns(part.model)]
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(n) for n in names)}) "
    if part.links:
        sources = ", ".join(sorted(set(part.links.values())))
        body = f"SELECT {', '.join(exprs)} FROM {sources}"
    else:
        body = f"VALUES ({', '.join(exprs)})"
    tail = f" ON CONFLICT {part.on_conflict}" if part.on_conflict else ""
    if part.returning:
        tail += f" RETURNING {qn(meta.pk.column)} AS id"
    return f"{part.alias} AS ({head}{body}{tail})"


def _statement(parts) -> Statement:
    """The statement of this shape (prepared once per connection by ``core.compiled.execute``)."""
    key = tuple(
        (p.alias, p.model, tuple(sorted(p.links.items())), p.on_conflict, p.returning) if isinstance(p, Insert)
        else (p.alias, p.sql)
        for p in parts
    )
    found = _SQL.get(key)
    if found is None:
        ctes = [_insert_sql(p) if isinstance(p, Insert) else f"{p.alias} AS ({p.sql})" for p in parts]
        answer = [p.alias for p in parts if isinstance(p, Insert) and p.returning]
        sql = f"WITH {', '.join(ctes)} SELECT {', '.join(f'{a}.id' for a in answer)} FROM {', '.join(answer)}"
        found = _SQL[key] = Statement(sql, "linked_insert")
    return found


def _params(part: Insert) -> list:
    values, links, out = part.values, part.links, []
    for attname, _column, f, plain in _columns(part.model):
        if attname in links:
            continue
        value = values[attname]
        kind = type(value)
        if plain and (kind in _PLAIN_VALUES or (kind is datetime and value.tzinfo is not None)):
            out.append(value)
        else:
            out.append(f.get_db_prep_save(value, connection))
    return out


def insert_linked(*parts) -> dict[str, int] | None:
    """Run ``parts`` (``Insert`` and ``Part``, each after those it links to) as one statement.

    Returns the new primary keys by alias (of the inserts with ``returning``), or
    None when one of them wrote no row (a conflict skipped it), in which case
    nothing linked to it was written.
    """
    params = []
    for p in parts:
        params += _params(p) if isinstance(p, Insert) else p.params
    with connection.cursor() as cursor:
        execute(cursor, _statement(parts), params)
        row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip((p.alias for p in parts if isinstance(p, Insert) and p.returning), row))


# --- Many rows of one model, or of several, as ONE JSON parameter -----------------------------


_INSERT_SQL: dict = {}


def _pg_insert(model, *, returning: bool) -> tuple[str, list]:
    """``INSERT INTO <table> (...) SELECT ... FROM jsonb_to_recordset(%s::jsonb)`` for a model, and its fields.

    The rows travel as ONE parameter, a JSON array: a ``VALUES`` list of 500 rows of
    12 columns (the messages of an escalation sweep) took PostgreSQL ~70 ms to parse
    and plan, the JSON ~3 ms.
    """
    key = (model, returning)
    if key not in _INSERT_SQL:
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in fields)
        record = ", ".join(f"{qn(f.column)} {f.db_type(connection)}" for f in fields)
        tail = f" RETURNING {qn(meta.pk.column)}" if returning else ""
        sql = (f"INSERT INTO {qn(meta.db_table)} ({columns}) SELECT {columns} "
               f"FROM jsonb_to_recordset(%s::jsonb) AS r({record}){tail}")
        _INSERT_SQL[key] = (sql, fields)
    return _INSERT_SQL[key]


def _set_pks(objs: list, pks) -> None:
    # Ids come from the sequence in the order the rows went in, which is the list's order.
    for obj, pk in zip(objs, sorted(pks), strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_together(*groups: list) -> None:
    """Insert several lists of unsaved instances (each list of one model) in one statement
    (PostgreSQL: one data-modifying CTE per list), and set their primary keys."""
    groups = [objs for objs in groups if objs]
    parts, params = [], []
    for i, objs in enumerate(groups):
        sql, fields = _pg_insert(type(objs[0]), returning=True)
        parts.append(f"i{i} AS ({sql})")
        params.append(json_rows([{f.column: getattr(obj, f.attname) for f in fields} for obj in objs]))
    pk_columns = [connection.ops.quote_name(type(objs[0])._meta.pk.column) for objs in groups]
    select = " UNION ALL ".join(f"SELECT {i}, {pk} FROM i{i}" for i, pk in enumerate(pk_columns))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} {select}", params)
        found: dict[int, list] = {i: [] for i in range(len(groups))}
        for i, pk in cursor.fetchall():
            found[i].append(pk)
    for i, objs in enumerate(groups):
        _set_pks(objs, found[i])


def bulk_insert(objs: list, *, returning_pk: bool = False, chunk: int = 1000) -> None:
    """Multi-row INSERTs of unsaved instances of one model (sets ``pk`` when ``returning_pk``).

    What ``bulk_create`` does, without its per-value expression machinery, with the rows
    as one JSON parameter (``_pg_insert``).
    """
    if not objs:
        return
    sql, fields = _pg_insert(type(objs[0]), returning=returning_pk)
    for start in range(0, len(objs), chunk):
        part = objs[start:start + chunk]
        with connection.cursor() as cursor:
            cursor.execute(sql, [json_rows([{f.column: getattr(obj, f.attname) for f in fields} for obj in part])])
            if returning_pk:
                _set_pks(part, [r[0] for r in cursor.fetchall()])


def _jsonable(value):
    if isinstance(value, datetime | date | dt_time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a column value bulk_insert can send")


def json_rows(rows: list[dict]) -> str:
    """Rows as the JSON document ``jsonb_to_recordset`` reads (datetimes in ISO 8601 with their offset)."""
    return json.dumps(rows, default=_jsonable, ensure_ascii=False)
