"""The outbox stops pointing at WorkOrder (issue 13, S5a): ``Notification.work_order``, a
foreign key, becomes ``subject_id``, a plain id in the same column ``work_order_id``.

In the database only the foreign key constraint goes. The index ``notification_work_order``
covers the same columns under the same name before and after, so it is left alone: the
operations that rename it in the migration state are state-only (a plain ``makemigrations``
would drop and build it again on the outbox table).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0010_catalog_moved_out"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterField(
                    model_name="notification",
                    name="work_order",
                    field=models.BigIntegerField(blank=True, null=True, db_column="work_order_id"),
                ),
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="notification", name="notification_work_order"),
                migrations.RemoveField(model_name="notification", name="work_order"),
                migrations.AddField(
                    model_name="notification",
                    name="subject_id",
                    field=models.BigIntegerField(blank=True, db_column="work_order_id", null=True,
                                                 verbose_name="work order"),
                ),
                migrations.AddIndex(
                    model_name="notification",
                    index=models.Index(fields=["subject_id", "id"], name="notification_work_order"),
                ),
            ],
        ),
    ]
