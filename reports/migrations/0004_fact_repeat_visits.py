"""The repeat-visit figures read from the summary rows (reports.selectors.repeat_visits).

Each row gets its order's equipment and whether the order is a repeat failure
(workorders/history.py), filled in here for the orders that have equipment, in id ranges,
each committed by itself (a million orders: a few hundred thousand rows), before the index
is built (concurrently: the table stays writable). An order without equipment keeps NULLs.
The rule is written out here as it stands today, as a migration must.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

BATCH = 50_000


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    WorkOrder = apps.get_model("workorders", "WorkOrder")
    WorkOrderFact = apps.get_model("reports", "WorkOrderFact")
    facts, orders = WorkOrderFact._meta.db_table, WorkOrder._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {orders}")
        last = cursor.fetchone()[0]
    days = settings.REPEAT_FAILURE_DAYS
    for low in range(0, last, BATCH):
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
UPDATE {facts} f
SET equipment_id = w.equipment_id,
    repeat_failure = EXISTS (
        SELECT 1 FROM {orders} r
        WHERE r.equipment_id = w.equipment_id AND r.resolved_at IS NOT NULL AND r.resolved_at <= w.created_at
          AND r.resolved_at >= w.created_at - make_interval(days => %s) AND r.id <> w.id)
FROM {orders} w
WHERE w.id = f.work_order_id AND w.equipment_id IS NOT NULL AND w.id > %s AND w.id <= %s
""",
                [days, low, low + BATCH],
            )


class Migration(migrations.Migration):
    atomic = False  # each range commits by itself; the index is built concurrently

    dependencies = [
        ('customers', '0009_equipment_active'),
        ('reports', '0003_fact_money'),
        ('workorders', '0021_custom_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='workorderfact',
            name='equipment',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='customers.equipment'),
        ),
        migrations.AddField(
            model_name='workorderfact',
            name='repeat_failure',
            field=models.BooleanField(null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name='workorderfact',
            index=models.Index(condition=models.Q(('equipment__isnull', False)), fields=['created_day'], include=('service_type_id', 'technician_id', 'equipment_id', 'repeat_failure'), name='report_fact_repeat'),
        ),
    ]
