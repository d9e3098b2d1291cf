import uuid

import django.contrib.postgres.functions
from django.db import migrations, models


class Migration(migrations.Migration):
    """The outbox's delivery key. Added without a default for the rows already there (NULL;
    notifications.py derives theirs from the id), so that PostgreSQL does not rewrite the
    whole outbox table under a lock to fill in random values; new rows get one."""

    dependencies = [
        ("workorders", "0008_workorder_submission_hash"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="notification",
                    name="delivery_key",
                    field=models.UUIDField(
                        db_default=django.contrib.postgres.functions.RandomUUID(), default=uuid.uuid4,
                        editable=False, null=True, verbose_name="delivery key",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE workorders_notification ADD COLUMN delivery_key uuid NULL; "
                    "ALTER TABLE workorders_notification ALTER COLUMN delivery_key SET DEFAULT gen_random_uuid();",
                    reverse_sql="ALTER TABLE workorders_notification DROP COLUMN delivery_key;",
                ),
            ],
        ),
    ]
