"""Day rollups of the summary rows (``DayRollup``), kept by a trigger on ``WorkOrderFact``.

Each rollup row holds counts and sums over summary rows of one creation day and status, per
service type (grain 0) and per technician (grain 1). Statement-level triggers on the summary
table (INSERT, UPDATE, DELETE, with their transition tables; TRUNCATE) append, in the statement
that writes the rows, one delta row per key the statement changed: the new rows' measures less
the old ones'. So every writer keeps the rollups exact in its own transaction: a new order's
row written with the order (``reports.facts.new_order_row``), a refresh, a bulk rebuild, a
migration. Appended, never updated: two transactions writing rows of the same day and service
type (every create of the day does) neither wait for each other nor deadlock. A statement whose
rows change no measure (the repeat-failure flag, the money, the appointment) appends nothing.
The reports sweep (``compact``, every minute) adds each key's rows up into one.

``MEASURES`` is the one list of what a rollup row holds, as an expression over a summary row;
migration 0005 installs the trigger from ``trigger_sql()`` and fills the table with
``fill_sql()``.
"""

TARGETS = ["first_response", "arrival", "resolution"]
DURATIONS = [f"{t}_{kind}_s" for t in TARGETS for kind in ("clock", "business")]

FACT = "reports_workorderfact"
ROLLUP = "reports_dayrollup"
KEY = ["grain", "created_day", "status", "service_type_id", "technician_id"]


def _measures() -> list[tuple[str, str]]:
    out = [("orders", "1")]
    for col in DURATIONS:
        base = col.removesuffix("_s")
        out += [(f"{base}_n", f"({col} IS NOT NULL)::int"), (f"{base}_sum", f"coalesce({col}, 0)")]
    for t in TARGETS:
        out += [(f"{t}_met", f"({t}_met IS TRUE)::int"), (f"{t}_late", f"({t}_met IS FALSE)::int")]
    out += [
        ("resolved", "(first_time_fix IS NOT NULL)::int"),
        ("first_time_fixed", "(first_time_fix IS TRUE)::int"),
        ("second_visits", "(second_visit IS TRUE)::int"),
        ("reopened", "(reopened IS TRUE)::int"),
        ("answers", "(satisfaction IS NOT NULL)::int"),
        ("satisfaction_sum", "coalesce(satisfaction, 0)"),
        ("recommend_answers", "(recommend IS NOT NULL)::int"),
        ("promoters", "((recommend >= 9) IS TRUE)::int"),
        ("passives", "((recommend BETWEEN 7 AND 8) IS TRUE)::int"),
        ("detractors", "((recommend <= 6) IS TRUE)::int"),
    ]
    return out


MEASURES = _measures()
COLUMNS = [name for name, _expr in MEASURES]


def _sums_sql(source: str) -> str:
    """The measures of ``source`` (rows of the summary table with a ``sign`` column, +1 or -1)
    added up by rollup key, leaving out keys whose measures all add up to zero."""
    signed = ", ".join(f"sign * {expr} AS {name}" for name, expr in MEASURES)
    sums = ", ".join(f"sum({name})::bigint AS {name}" for name in COLUMNS)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in COLUMNS)
    return f"""
    SELECT g.grain, d.created_day, d.status,
           CASE WHEN g.grain = 0 THEN d.service_type_id ELSE 0 END AS service_type_id,
           CASE WHEN g.grain = 1 THEN coalesce(d.technician_id, 0) ELSE 0 END AS technician_id,
           {sums}
    FROM (SELECT created_day, status, service_type_id, technician_id, {signed} FROM ({source}) s) d
    CROSS JOIN (VALUES (0), (1)) g(grain)
    GROUP BY 1, 2, 3, 4, 5
    HAVING {nonzero}"""


def _delta_sql(source: str) -> str:
    """Append to the rollup the measures of ``source``, one row per key (``_sums_sql``)."""
    return f"""
    INSERT INTO {ROLLUP} ({", ".join(KEY)}, {", ".join(COLUMNS)}){_sums_sql(source)}"""


def trigger_sql() -> str:
    sources = {
        "insert": "SELECT 1 AS sign, * FROM new_rows",
        "update": "SELECT -1 AS sign, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows",
        "delete": "SELECT -1 AS sign, * FROM old_rows",
    }
    referencing = {
        "insert": "REFERENCING NEW TABLE AS new_rows",
        "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "delete": "REFERENCING OLD TABLE AS old_rows",
    }
    parts = []
    for op, source in sources.items():
        parts.append(f"""
CREATE OR REPLACE FUNCTION reports_rollup_{op}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{_delta_sql(source)};
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS reports_rollup_{op} ON {FACT};
CREATE TRIGGER reports_rollup_{op} AFTER {op.upper()} ON {FACT}
    {referencing[op]} FOR EACH STATEMENT EXECUTE FUNCTION reports_rollup_{op}();""")
    parts.append(f"""
CREATE OR REPLACE FUNCTION reports_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {ROLLUP};  -- not TRUNCATE: a flush truncates both tables in one statement
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS reports_rollup_truncate ON {FACT};
CREATE TRIGGER reports_rollup_truncate AFTER TRUNCATE ON {FACT}
    FOR EACH STATEMENT EXECUTE FUNCTION reports_rollup_truncate();""")
    return "\n".join(parts)


def drop_sql() -> str:
    return "\n".join(
        f"DROP TRIGGER IF EXISTS reports_rollup_{op} ON {FACT}; DROP FUNCTION IF EXISTS reports_rollup_{op}();"
        for op in ("insert", "update", "delete", "truncate")
    )


def fill_sql() -> str:
    """Rebuild the whole rollup from the summary rows (the migration; a check by hand)."""
    return f"DELETE FROM {ROLLUP};" + _delta_sql(f"SELECT 1 AS sign, * FROM {FACT}")


def compact_sql() -> str:
    """Add up each key's rows into one (the rows of keys with more than one; keys that add up to
    nothing go). Rows appended meanwhile are not in this statement's snapshot and stay as they are;
    a row another compaction took first is skipped by this one's DELETE, and so not added twice."""
    key = ", ".join(KEY)
    cols = ", ".join(COLUMNS)
    sums = ", ".join(f"sum({name})::bigint" for name in COLUMNS)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in COLUMNS)
    return f"""
WITH many AS (SELECT {key} FROM {ROLLUP} GROUP BY {key} HAVING count(*) > 1),
gone AS (DELETE FROM {ROLLUP} r USING many m
         WHERE ({", ".join(f"r.{k}" for k in KEY)}) = ({", ".join(f"m.{k}" for k in KEY)})
         RETURNING {", ".join(f"r.{c}" for c in KEY + COLUMNS)})
INSERT INTO {ROLLUP} ({key}, {cols})
SELECT {key}, {sums} FROM gone GROUP BY {key} HAVING {nonzero}"""


def compact() -> int:
    """``compact_sql`` (the reports sweep runs it): returns the rows written."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(compact_sql())
        return cursor.rowcount


def check_sql() -> str:
    """The keys whose rollup rows do not add up to the sums of the summary rows (none, when all is
    well), both ways."""
    expected = _sums_sql(f"SELECT 1 AS sign, * FROM {FACT}")
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in COLUMNS)
    actual = (f"SELECT {', '.join(KEY)}, {', '.join(f'sum({c})::bigint' for c in COLUMNS)} FROM {ROLLUP} "
              f"GROUP BY {', '.join(KEY)} HAVING {nonzero}")
    return f"(({expected}) EXCEPT ({actual})) UNION ALL (({actual}) EXCEPT ({expected}))"


def refill() -> None:
    """Rebuild the rollups from the summary rows: after writing them with the triggers silenced
    (``session_replication_role = replica``, as the demo seed does for speed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(fill_sql())

