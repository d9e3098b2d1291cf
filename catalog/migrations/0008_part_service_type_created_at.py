"""When each part and service type was created, for the API's ``created_after`` filter and
``created_at`` sort; the rows there before take the moment of this migration."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0007_master_data_in_two_languages"),
    ]

    operations = [
        migrations.AddField(
            model_name="part",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="created"),
        ),
        migrations.AddField(
            model_name="servicetype",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="created"),
        ),
    ]
