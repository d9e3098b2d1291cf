"""Integrations sync these rows through the API: each one's reference in another system
(unique when set) and its last change."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0004_part_stock_flags_service_type_parts"),
    ]

    operations = [
        migrations.AddField(
            model_name="part",
            name="external_ref",
            field=models.CharField(
                blank=True, help_text="This row's reference in another system (CRM, ERP); unique when set.",
                max_length=100, null=True, unique=True, verbose_name="external reference",
            ),
        ),
        migrations.AddField(
            model_name="part",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now, verbose_name="updated"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="servicetype",
            name="external_ref",
            field=models.CharField(
                blank=True, help_text="This row's reference in another system (CRM, ERP); unique when set.",
                max_length=100, null=True, unique=True, verbose_name="external reference",
            ),
        ),
        migrations.AddField(
            model_name="servicetype",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now, verbose_name="updated"),
            preserve_default=False,
        ),
    ]
