"""The dispatch board's unassigned queue read off a partial index in its own order (the orders
waiting for a technician, most urgent first), built concurrently: the work-order table is the
largest, and intake goes on while it builds."""

from django.db import migrations, models

CREATE = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS wo_unassigned_queue ON workorders_workorder "
    "(priority DESC, first_response_due, created_at, id) WHERE status = 'new' AND technician_id IS NULL"
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('workorders', '0019_workorder_custom'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(CREATE, "DROP INDEX CONCURRENTLY IF EXISTS wo_unassigned_queue"),
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name='workorder',
                    index=models.Index(condition=models.Q(('status', 'new'), ('technician__isnull', True)),
                                       fields=['-priority', 'first_response_due', 'created_at', 'id'],
                                       name='wo_unassigned_queue'),
                ),
            ],
        ),
    ]
