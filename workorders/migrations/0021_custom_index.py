"""The GIN index of the custom-field values (queries by a value: `custom @> '{"key": value}'`),
built concurrently: the table stays readable and writable while it builds."""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations

CREATE = "CREATE INDEX CONCURRENTLY IF NOT EXISTS wo_custom ON workorders_workorder USING gin (custom jsonb_path_ops)"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('workorders', '0020_unassigned_queue_index'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(CREATE, "DROP INDEX CONCURRENTLY IF EXISTS wo_custom")],
            state_operations=[
                migrations.AddIndex(
                    model_name='workorder',
                    index=GinIndex(fields=['custom'], name='wo_custom', opclasses=['jsonb_path_ops']),
                ),
            ],
        ),
    ]
