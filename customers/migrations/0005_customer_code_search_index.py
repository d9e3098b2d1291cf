"""A trigram index on the customer code, for the customer search page (customer360): a fragment
of a code in any letter case. Built concurrently, as the other search indexes (0002), whose
comment says why the SQL is written out."""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0004_site_location_precision"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS customer_code_trgm ON customers_customer "
                    "USING gin ((upper(code)) gin_trgm_ops)",
                    "DROP INDEX CONCURRENTLY IF EXISTS customer_code_trgm",
                )
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="customer",
                    index=django.contrib.postgres.indexes.GinIndex(
                        django.contrib.postgres.indexes.OpClass(
                            django.db.models.functions.text.Upper("code"), name="gin_trgm_ops"
                        ),
                        name="customer_code_trgm",
                    ),
                )
            ],
        ),
    ]
