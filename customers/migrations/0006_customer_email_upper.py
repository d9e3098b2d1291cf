"""An index on the customer's email in upper case: email intake (email_intake/) finds the sender of
a new email by address, any letter case. Built concurrently, as the other search indexes (0002, 0005)."""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0005_customer_code_search_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS customer_email_upper ON customers_customer ((upper(email)))",
                    "DROP INDEX CONCURRENTLY IF EXISTS customer_email_upper",
                )
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="customer",
                    index=models.Index(django.db.models.functions.text.Upper("email"), name="customer_email_upper"),
                )
            ],
        ),
    ]
