# /readyz judges the outbox without the webhook endpoints' deliveries (notifications.selectors.outbox_backlog):
# the new indexes are built first (under new names), then the old one is dropped, so /readyz always
# has an index to read. Concurrently: the outbox keeps every message ever sent, so the table may be
# large, and sends go on during the migration.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('notifications', '0002_webhook_endpoints'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='notification',
            index=models.Index(condition=models.Q(('status', 'pending'), models.Q(('channel', 'endpoint'), _negated=True)), fields=['created_at'], name='notification_waiting'),
        ),
        AddIndexConcurrently(
            model_name='notification',
            index=models.Index(condition=models.Q(('channel', 'endpoint'), ('status', 'pending')), fields=['created_at'], name='notification_endpoint_pending'),
        ),
        RemoveIndexConcurrently(
            model_name='notification',
            name='notification_pending',
        ),
    ]
