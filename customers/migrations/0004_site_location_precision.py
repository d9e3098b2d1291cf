from django.db import migrations, models


def mark_existing(apps, schema_editor):
    """Sites that already have coordinates (seeded, imported) keep them as exact; the rest wait
    for the geocoding sweep."""
    Site = apps.get_model("customers", "Site")
    Site.objects.filter(latitude__isnull=False, longitude__isnull=False).update(location_precision="exact")


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_customer_code_import_permissions")]

    operations = [
        migrations.AddField(
            model_name="site",
            name="location_precision",
            field=models.CharField(
                choices=[
                    ("pending", "not located yet"), ("unknown", "location unknown"), ("province", "province centre"),
                    ("city", "city centre"), ("district", "district centre"), ("street", "street"),
                    ("exact", "exact"), ("manual", "placed by hand"),
                ],
                db_default="pending", default="pending", max_length=10, verbose_name="location precision",
            ),
        ),
        migrations.AddField(
            model_name="site",
            name="location_area",
            field=models.CharField(blank=True, db_default="", default="", max_length=80, verbose_name="area found"),
        ),
        migrations.AddField(
            model_name="site",
            name="located_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="located"),
        ),
        migrations.RunPython(mark_existing, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="site",
            index=models.Index(condition=models.Q(("location_precision", "pending")), fields=["id"],
                               name="site_location_pending"),
        ),
    ]
