"""The outbox's model now lives in the app ``notifications`` (issue 13, S5c), which took its
table as it is: here it leaves the migration state only (a plain DeleteModel would drop
the table)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0011_notification_subject_id"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Notification"),
            ],
        ),
    ]
