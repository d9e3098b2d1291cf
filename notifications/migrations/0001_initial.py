"""The outbox moves from workorders to this app (issue 13, S5c), keeping its table
``workorders_notification`` and its indexes: the model is created in the migration state
only, and its content type (with the permissions and admin log entries that hang on it)
is renamed to this app. On a fresh database there is no content type yet to rename.
"""

import uuid

import django.contrib.postgres.functions
import django.utils.timezone
from django.db import migrations, models


def _content_type_move(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    if ContentType.objects.filter(app_label=old, model="notification").exists():
        # One the other app got while both had the model (a partial reverse): the old one wins.
        ContentType.objects.filter(app_label=new, model="notification").delete()
        ContentType.objects.filter(app_label=old, model="notification").update(app_label=new)


def content_type_here(apps, schema_editor):
    _content_type_move(apps, "workorders", "notifications")


def content_type_back(apps, schema_editor):
    _content_type_move(apps, "notifications", "workorders")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("workorders", "0011_notification_subject_id"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("subject_id", models.BigIntegerField(blank=True, db_column="work_order_id", null=True,
                                                              verbose_name="work order")),
                        ("channel", models.CharField(choices=[("email", "Email"), ("sms", "SMS"),
                                                              ("webhook", "Group robot (webhook)")],
                                                     max_length=8, verbose_name="channel")),
                        ("recipient", models.CharField(
                            blank=True, max_length=254, verbose_name="recipient",
                            help_text="Email, phone number or webhook URL; empty: the configured group robot.")),
                        ("template", models.CharField(max_length=40, verbose_name="template")),
                        ("language", models.CharField(default="zh-hans", max_length=10, verbose_name="language")),
                        ("payload", models.JSONField(blank=True, default=dict)),
                        ("status", models.CharField(choices=[("pending", "Pending"), ("sending", "Sending"),
                                                             ("sent", "Sent"), ("failed", "Failed")],
                                                    default="pending", max_length=8, verbose_name="status")),
                        ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="attempts")),
                        ("next_attempt_at", models.DateTimeField(default=django.utils.timezone.now,
                                                                 verbose_name="next attempt")),
                        ("last_error", models.TextField(blank=True, verbose_name="last error")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent")),
                        ("dedupe_key", models.CharField(blank=True, editable=False, max_length=80, null=True,
                                                        unique=True)),
                        ("delivery_key", models.UUIDField(db_default=django.contrib.postgres.functions.RandomUUID(),
                                                          default=uuid.uuid4, editable=False, null=True,
                                                          verbose_name="delivery key")),
                    ],
                    options={
                        "verbose_name": "notification",
                        "verbose_name_plural": "notifications",
                        "db_table": "workorders_notification",
                        "ordering": ["-id"],
                        "indexes": [
                            models.Index(condition=models.Q(("status__in", ["pending", "sending"])),
                                         fields=["next_attempt_at"], name="notification_due"),
                            models.Index(fields=["subject_id", "id"], name="notification_work_order"),
                            models.Index(condition=models.Q(("status", "pending")), fields=["created_at"],
                                         name="notification_pending"),
                            models.Index(condition=models.Q(("status", "failed")), fields=["created_at"],
                                         name="notification_failed"),
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_here, content_type_back, elidable=True),
    ]
