"""A technician's creation moment, for the API's ``created_after`` filter and ``created_at`` sort;
the technicians there before take their login's ``date_joined``."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("technicians", "0009_technician_home_address"),
    ]

    operations = [
        migrations.AddField(
            model_name="technician",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="created"),
        ),
        migrations.RunSQL(
            "UPDATE technicians_technician AS t SET created_at = u.date_joined FROM auth_user AS u "
            "WHERE u.id = t.user_id",
            migrations.RunSQL.noop,
        ),
    ]
