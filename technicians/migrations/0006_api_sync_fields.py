"""Integrations sync these rows through the API: each one's reference in another system
(unique when set) and its last change."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("technicians", "0005_employee_number_import_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="technician",
            name="external_ref",
            field=models.CharField(
                blank=True, help_text="This row's reference in another system (CRM, ERP); unique when set.",
                max_length=100, null=True, unique=True, verbose_name="external reference",
            ),
        ),
        migrations.AddField(
            model_name="technician",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now, verbose_name="updated"),
            preserve_default=False,
        ),
    ]
