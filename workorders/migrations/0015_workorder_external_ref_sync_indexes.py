"""The API's sync: a work order's reference in another system (unique when set) and the
indexes its lists sorted by a moment walk ((updated_at, id), (created_at, id))."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0014_completion_moved_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="workorder",
            name="external_ref",
            field=models.CharField(
                blank=True, help_text="This work order's reference in another system (CRM, ERP); unique when set.",
                max_length=100, null=True, unique=True, verbose_name="external reference",
            ),
        ),
        migrations.AddIndex(
            model_name="workorder",
            index=models.Index(fields=["updated_at", "id"], name="wo_updated_at_id"),
        ),
        migrations.AddIndex(
            model_name="workorder",
            index=models.Index(fields=["created_at", "id"], name="wo_created_at_id"),
        ),
    ]
