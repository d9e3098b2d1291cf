"""Trigram indexes for the staff search (customers/selectors.py): a fragment of a customer's
name or number, a site's address or an equipment serial, in any letter case. Built
concurrently, so a company's customers stay writable while they build.

The SQL is written out: the expression indexes match the ``UPPER(col::text) LIKE UPPER(%s)``
that ``icontains`` compiles to, and Django's own DDL for an OpClass around an expression is
not valid SQL in this version (it wraps the operator class inside the expression's brackets).
"""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

GinIndex = django.contrib.postgres.indexes.GinIndex
OpClass = django.contrib.postgres.indexes.OpClass
Upper = django.db.models.functions.text.Upper


def index(model, table, name, state_index, expression):
    return migrations.SeparateDatabaseAndState(
        database_operations=[
            migrations.RunSQL(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} USING gin ({expression} gin_trgm_ops)",
                f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
            )
        ],
        state_operations=[migrations.AddIndex(model_name=model, index=state_index)],
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        TrigramExtension(),
        index("customer", "customers_customer", "customer_name_trgm",
              GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_trgm"), "(upper(name))"),
        index("customer", "customers_customer", "customer_phone_trgm",
              GinIndex(fields=["phone"], name="customer_phone_trgm", opclasses=["gin_trgm_ops"]), "phone"),
        index("equipment", "customers_equipment", "equipment_serial_trgm",
              GinIndex(OpClass(Upper("serial"), name="gin_trgm_ops"), name="equipment_serial_trgm"), "(upper(serial))"),
        index("site", "customers_site", "site_address_trgm",
              GinIndex(OpClass(Upper("address"), name="gin_trgm_ops"), name="site_address_trgm"), "(upper(address))"),
    ]
