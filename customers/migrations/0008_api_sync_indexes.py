"""The indexes of the API's sync reads, built concurrently (the tables stay writable while they
build; as 0002 and 0005): each row's external reference, unique when set, and (updated_at, id)
and (created_at, id), which the lists sorted by a moment walk."""

from django.db import migrations, models

TABLES = {"customer": "customers_customer", "site": "customers_site", "equipment": "customers_equipment"}


def _unique_ref(model_name: str, table: str):
    # Named as PostgreSQL names a column's UNIQUE constraint, which Django's state expects here.
    name = f"{table}_external_ref_key"
    return migrations.RunSQL(
        f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} (external_ref)",
        f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
    )


def _index(model_name: str, table: str, moment: str):
    name = f"{model_name}_{moment}_id"
    return migrations.SeparateDatabaseAndState(
        database_operations=[
            migrations.RunSQL(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} ({moment}, id)",
                f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
            )
        ],
        state_operations=[
            migrations.AddIndex(model_name=model_name, index=models.Index(fields=[moment, "id"], name=name)),
        ],
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0007_api_sync_fields"),
    ]

    operations = [
        op
        for model_name, table in TABLES.items()
        for op in (
            _unique_ref(model_name, table),
            _index(model_name, table, "updated_at"),
            _index(model_name, table, "created_at"),
        )
    ]
