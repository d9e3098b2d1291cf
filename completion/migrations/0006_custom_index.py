"""The GIN index of the custom-field values (queries by a value: `custom @> '{"key": value}'`),
built concurrently: the table stays readable and writable while it builds."""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations

CREATE = "CREATE INDEX CONCURRENTLY IF NOT EXISTS report_custom ON workorders_completionreport USING gin (custom jsonb_path_ops)"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('completion', '0005_report_custom'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(CREATE, "DROP INDEX CONCURRENTLY IF EXISTS report_custom")],
            state_operations=[
                migrations.AddIndex(
                    model_name='completionreport',
                    index=GinIndex(fields=['custom'], name='report_custom', opclasses=['jsonb_path_ops']),
                ),
            ],
        ),
    ]
