"""SQL compiled once per process and run as a statement prepared once per connection.

Two costs of a small read are not the read itself: Django building and compiling the
queryset (on every evaluation), and PostgreSQL parsing, analysing and planning the SQL
it is sent (on every statement). For the busiest reads (the list pages, the detail's
queries, the creation statement) both are paid once:

- ``compile_values`` compiles a ``values()`` queryset once, with stand-in integers
  for the values that change from run to run; ``Compiled.rows`` then only puts the
  run's values in their places and turns the rows into dicts as the queryset would.
- ``execute`` runs such SQL on PostgreSQL as a prepared statement (``PREPARE`` once
  per connection, ``EXECUTE`` with the values afterwards). At most
  ``MAX_PREPARED`` statements are kept per connection (the least recently used is
  deallocated); a statement that is gone all the same (``DEALLOCATE``, ``DISCARD ALL``)
  is prepared again; a new connection starts with none. Prepared statements survive a
  rollback. Other databases run the SQL as it is.

Plans: values that are the same on every run of a statement (a list's filter values,
which are part of its key) are written into the prepared text as literals; only the
values that change (the cursor's key, an id) are parameters. A connection that prepares
statements plans them generically (``plan_cache_mode = force_generic_plan``: an
option of the connection, config/settings.py, and sent again with its first ``PREPARE``
for a connection opened without it): once per statement and connection, not on every run. With
PostgreSQL's default (``auto``) a keyset page after a cursor was planned anew on every
run, because the plan for the cursor's value looked cheaper than the generic one; the
generic plans were the same plans (EXPLAIN on 1,000,000 orders, rare and common
statuses, first and deep pages). The setting applies to the connection's prepared
statements and PL/pgSQL functions only, not to Django's other queries.

Prepared statements belong to one server session: behind a pooler that hands each
transaction to any server connection (PgBouncer in transaction mode, any version: it
tracks only protocol-level prepared statements, not SQL ``PREPARE``) they must be
switched off with the setting ``DB_PREPARED_STATEMENTS = False``. Statements are named
by a hash of their text, so a name found prepared is always the same SQL.

Why not psycopg 3's own prepared statements (``OPTIONS: {"server_side_binding": True,
"prepare_threshold": 0}``, with this module's SQL run plainly): measured on the 1,000,000-order
bench database (docs/operations.md, "Stock tools"), the API list cost 3.8 ms of Python and
0.53-0.63 ms of its PostgreSQL backend per request with them against 2.5 ms and 0.43 ms here on
psycopg2 (+51 %), the API detail 2.45-3.1 ms against 2.2-2.6 ms (+12 %): no gain to leave
psycopg2-binary (the design card's driver) for. This module as it is does not run on psycopg 3
either: a cursor there answers with the first statement's result of ``SET ...; PREPARE ...;
EXECUTE ...``, not the last one's.
"""

import hashlib
import itertools
import re
import weakref
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models.query import ValuesIterable

# --- Prepared statements ----------------------------------------------------------------------

MAX_PREPARED = 200  # per connection; a prepared list query holds some tens of kB in its backend

_PLACEHOLDER = re.compile(r"%([%s])")
# The statements prepared on each connection, least recently used first (keyed by the
# driver's connection object: a new one after a reconnect starts with none).
_PREPARED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

# Plans of prepared statements: always the generic one, planned once (see the module's
# docstring). Sent with the connection's first PREPARE, in the same round trip.
_GENERIC_PLANS = "SET plan_cache_mode = force_generic_plan"

_UNCERTAIN = "uncertain"  # a statement whose preparing run failed: prepared or not
_UNDEFINED = "26000"  # invalid_sql_statement_name: "prepared statement ... does not exist"
_DUPLICATE = "42P05"  # duplicate_prepared_statement


class Statement:
    """SQL with ``%s`` for each parameter (as Django writes it, ``%%`` for a percent sign),
    and the name and text it is prepared under.

    ``literals`` ({parameter's index: its SQL literal}) are written into the prepared
    text: values that are the same on every run. Then the planner sees them as it sees
    them in plain SQL, also in a generic plan (which knows nothing of a parameter's
    value: with a rare status as a parameter it chose to scan the whole primary key).
    """

    __slots__ = ("sql", "count", "name", "text", "sent")

    def __init__(self, sql: str, prefix: str = "q", literals=None):
        literals = literals or {}
        places, numbers, sent = itertools.count(), itertools.count(1), []

        def placeholder(match):
            if match.group(1) == "%":
                return "%"
            place = next(places)
            if place in literals:
                return literals[place]
            sent.append(place)
            return f"${next(numbers)}"

        self.sql = sql
        self.text = _PLACEHOLDER.sub(placeholder, sql)
        self.count = next(places)
        self.sent = tuple(sent)  # the parameters EXECUTE sends, by index
        # Named by its text: the same name is always the same SQL, on any connection and in
        # any process, so a statement found already prepared is the right one.
        self.name = f"{prefix}_{hashlib.blake2b(self.text.encode(), digest_size=10).hexdigest()}"


def _pgcode(exc) -> str | None:
    return getattr(exc.__cause__, "pgcode", None)


def execute(cursor, statement: Statement, params) -> None:
    """Run ``statement`` with ``params`` on ``cursor`` (a Django cursor), prepared.

    The first run on a connection sends ``PREPARE`` and ``EXECUTE`` (and the
    ``DEALLOCATE`` of the least recently used statement beyond ``MAX_PREPARED``) in one
    round trip, one query; later runs send ``EXECUTE`` only.
    """
    connection = cursor.db
    if not getattr(settings, "DB_PREPARED_STATEMENTS", True):
        cursor.execute(statement.sql, params)
        return
    assert statement.count == len(params), (statement.count, len(params))
    if len(statement.sent) != len(params):
        params = [params[place] for place in statement.sent]
    name = statement.name
    prepared = _PREPARED.get(connection.connection)
    steps = []
    if prepared is None:
        prepared = _PREPARED[connection.connection] = OrderedDict()
        steps.append(_GENERIC_PLANS)
    run = f"EXECUTE {name} ({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {name}"
    params = params or None  # no parameters: the SQL is not formatted, "%" stays itself
    if prepared.get(name, None) is _UNCERTAIN:
        # A run that would have prepared it failed: whether its PREPARE got through is
        # asked once (this works inside a transaction too, where guessing wrong would not).
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = %s)", [name])
        if cursor.fetchone()[0]:
            prepared[name] = None
        else:
            del prepared[name]
    if name in prepared:
        prepared.move_to_end(name)
        try:
            cursor.execute(run, params)
            return
        except DatabaseError as exc:
            # Gone although prepared here: someone ran DEALLOCATE or DISCARD ALL. Inside a
            # transaction the error has spoilt it, so it goes to the caller.
            if _pgcode(exc) != _UNDEFINED or connection.in_atomic_block:
                raise
            del prepared[name]
            steps.append(_GENERIC_PLANS)  # DISCARD ALL has reset it too
    while len(prepared) >= MAX_PREPARED:
        steps.append(f"DEALLOCATE {prepared.popitem(last=False)[0]}")
    steps.append(f"PREPARE {name} AS {statement.text}")
    together = "; ".join(steps)
    try:
        cursor.execute(f"{together if params is None else together.replace('%', '%%')}; {run}", params)
    except DatabaseError as exc:
        if _pgcode(exc) not in (_UNDEFINED, _DUPLICATE) or connection.in_atomic_block:
            # PREPARE is not undone with a failed transaction, so an error of the statement
            # itself (a unique key taken) leaves it prepared; an error before it (a lock
            # timeout, a DEALLOCATE of a statement someone else removed) does not. Which
            # one it was is asked on the next run.
            prepared[name] = _UNCERTAIN
            raise
        # The connection is not as kept here (a statement deallocated, or prepared, by
        # someone else): step by step, taking it as it is.
        for step in steps:
            try:
                cursor.execute(step)
            except DatabaseError as exc:
                if _pgcode(exc) not in (_UNDEFINED, _DUPLICATE):
                    raise
        cursor.execute(run, params)
    prepared[name] = None


def prepared_names(connection) -> list[str]:
    """The statements this process has prepared on ``connection`` (a Django connection)."""
    return list(_PREPARED.get(connection.connection, ()))


# --- values() querysets compiled once ---------------------------------------------------------

STAND_IN = -7_301_946_285_113  # no value a caller passes: negative, and within any integer column's range
EMPTY = "empty"  # the queryset is empty whatever the values (``.none()``): no query at all
NOT_COMPILED = "not compiled"  # a queryset that cannot run from its kept SQL


@dataclass(frozen=True)
class Compiled:
    """A ``values()`` query's SQL, kept; ``rows(values)`` runs it with new values."""

    alias: str
    statement: Statement
    params: tuple
    slots: tuple  # (place in the parameters, key of the value in ``rows``' values) of each varying value
    names: tuple  # the values() names of the columns
    converters: tuple  # (column, functions, expression) of columns the database backend converts

    def rows(self, values=()) -> list[dict]:
        """The rows, as dicts like the queryset's, with ``values[key]`` in each slot's place."""
        params = list(self.params)
        for place, key in self.slots:
            params[place] = values[key]
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            execute(cursor, self.statement, params)
            rows = cursor.fetchall()
        if self.converters:
            rows = [list(row) for row in rows]
            for row in rows:
                for position, functions, expression in self.converters:
                    value = row[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    row[position] = value
        names = self.names
        return [dict(zip(names, row)) for row in rows]


def compile_values(build, keys=(), prefix: str = "q"):
    """``build(stand_ins)``'s SQL, kept: a ``Compiled``, or ``EMPTY`` or ``NOT_COMPILED``.

    ``build`` gets a dict of one stand-in integer per key and returns a ``values()``
    queryset. It is compiled twice with two sets of stand-ins: the parameters that
    differ are the keys' places (a key may stand in several); all others must agree.
    Only integer values can vary.
    """
    keys = tuple(keys)
    compiled = []
    for base in (STAND_IN, STAND_IN - 1000):
        stand_ins = {key: base - i for i, key in enumerate(keys)}
        qs = build(stand_ins)
        query = qs.query
        if qs._iterable_class is not ValuesIterable or query.extra_select:
            return NOT_COMPILED
        compiler = query.get_compiler(using=qs.db)
        try:
            sql, params = compiler.as_sql()
            if not sql:
                raise EmptyResultSet
        except EmptyResultSet:
            return EMPTY
        compiled.append((qs.db, query, compiler, sql, tuple(params), stand_ins))
        if not keys:
            break
    alias, query, compiler, sql, params, stand_ins = compiled[0]
    slots = []
    if keys:
        _alias, _query, _compiler, other_sql, other_params, other_stand_ins = compiled[1]
        if other_sql != sql or len(other_params) != len(params):
            return NOT_COMPILED
        key_of = {value: key for key, value in stand_ins.items()}
        for place, (one, other) in enumerate(zip(params, other_params)):
            if one == other and type(one) is type(other):
                continue
            key = key_of.get(one) if type(one) is int else None
            if key is None or other != other_stand_ins[key]:
                return NOT_COMPILED
            slots.append((place, key))
        if {key for _place, key in slots} != set(keys):
            return NOT_COMPILED
    names = tuple(query.selected) if query.selected else (*query.values_select, *query.annotation_select)
    columns = [column[0] for column in compiler.select[: compiler.col_count]]
    if len(columns) != len(names):
        return NOT_COMPILED
    converters = tuple(
        (position, tuple(functions), expression)
        for position, (functions, expression) in compiler.get_converters(columns).items()
    )
    connection = connections[alias]
    varying = {place for place, _key in slots}
    literals = {
        place: connection.ops.compose_sql("%s", [value])
        for place, value in enumerate(params) if place not in varying
    }
    return Compiled(alias, Statement(sql, prefix, literals), params, tuple(slots), names, converters)


class CompiledValues:
    """A ``values()`` query compiled once per process and database, then run with new values.

    ``build`` takes one integer argument per name in ``params`` and returns the
    ``values()`` queryset; ``rows(**values)`` runs its kept SQL with those values.
    """

    def __init__(self, build, *params: str, prefix: str = "v"):
        self.build = build
        self.params = params
        self.prefix = prefix
        self._compiled: dict = {}

    def rows(self, **values) -> list[dict]:
        connection = connections[DEFAULT_DB_ALIAS]
        key = connection.alias
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = compile_values(lambda stand_ins: self.build(**stand_ins), self.params, self.prefix)
            if not isinstance(compiled, Compiled):
                raise ValueError(f"{self.build!r} cannot run from kept SQL ({compiled})")
            self._compiled[key] = compiled
        return compiled.rows(values)
