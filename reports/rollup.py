"""Day rollups of the summary rows (``DayRollup``), kept by a trigger on ``WorkOrderFact``.

Each rollup row holds counts and sums over the summary rows of one creation day and status,
per service type (grain 0) and per technician (grain 1). Statement-level triggers on the
summary table (INSERT, UPDATE, DELETE, with their transition tables; TRUNCATE) add the new rows'
measures and take away the old ones' in the statement that writes them, so every writer keeps
them exact in its own transaction: a new order's row written with the order
(``reports.facts.new_order_row``), a refresh, a bulk rebuild, a migration, the demo seed. A
statement whose rows change no measure (the repeat-failure flag, the money, the appointment)
touches no rollup row. The rollup rows a statement changes are upserted in key order, so two
writers lock them in the same order.

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


def _delta_sql(source: str) -> str:
    """Upsert into the rollup the measures of ``source`` (rows of the summary table with a
    ``sign`` column, +1 or -1), by key, skipping keys whose measures all add up to zero."""
    signed = ", ".join(f"sign * {expr} AS {name}" for name, expr in MEASURES)
    sums = ", ".join(f"sum({name})::bigint AS {name}" for name in COLUMNS)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in COLUMNS)
    updates = ", ".join(f"{name} = r.{name} + excluded.{name}" for name in COLUMNS)
    return f"""
    INSERT INTO {ROLLUP} AS r ({", ".join(KEY)}, {", ".join(COLUMNS)})
    SELECT g.grain, d.created_day, d.status,
           CASE WHEN g.grain = 0 THEN d.service_type_id ELSE 0 END,
           CASE WHEN g.grain = 1 THEN coalesce(d.technician_id, 0) ELSE 0 END,
           {sums}
    FROM (SELECT created_day, status, service_type_id, technician_id, {signed} FROM ({source}) s) d
    CROSS JOIN (VALUES (0), (1)) g(grain)
    GROUP BY 1, 2, 3, 4, 5
    HAVING {nonzero}
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ({", ".join(KEY)}) DO UPDATE SET {updates}"""


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


def check_sql() -> str:
    """The rollup rows that differ from the sums of the summary rows (none, when all is well)."""
    expected = _delta_sql(f"SELECT 1 AS sign, * FROM {FACT}")
    select = expected.split("INSERT INTO", 1)[1].split("\n", 1)[1].split("ON CONFLICT")[0]
    cols = ", ".join(KEY + COLUMNS)
    return (
        f"(({select}) EXCEPT SELECT {cols} FROM {ROLLUP} WHERE ({' OR '.join(f'{c} <> 0' for c in COLUMNS)}))"
        f" UNION ALL (SELECT {cols} FROM {ROLLUP} WHERE ({' OR '.join(f'{c} <> 0' for c in COLUMNS)})"
        f" EXCEPT ({select}))"
    )


def refill() -> None:
    """Rebuild the rollups from the summary rows: after writing them with the triggers silenced
    (``session_replication_role = replica``, as the demo seed does for speed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(fill_sql())

