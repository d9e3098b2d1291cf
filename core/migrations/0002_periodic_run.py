from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0001_roles")]

    operations = [
        migrations.CreateModel(
            name="PeriodicRun",
            fields=[
                ("name", models.CharField(max_length=100, primary_key=True, serialize=False, verbose_name="task")),
                ("tick", models.BigIntegerField(verbose_name="tick")),
                ("started_at", models.DateTimeField(verbose_name="started at")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished at")),
                ("runs", models.PositiveBigIntegerField(default=0, verbose_name="runs")),
                ("duplicates", models.PositiveBigIntegerField(default=0, verbose_name="duplicates refused")),
            ],
            options={
                "verbose_name": "periodic task run",
                "verbose_name_plural": "periodic task runs",
                "ordering": ["name"],
            },
        ),
    ]
