"""A technician's home base as an address, geocoded after commit into the home point dispatch
uses; the precision says how exact that point is. Technicians that already have a home point keep
it as "exact" (typed in); the others have no address to geocode yet: "unknown"."""

from django.db import migrations, models


def existing_points(apps, schema_editor):
    Technician = apps.get_model("technicians", "Technician")
    with_point = Technician.objects.filter(home_latitude__isnull=False, home_longitude__isnull=False)
    with_point.update(home_precision="exact")
    Technician.objects.exclude(pk__in=with_point.values("pk")).update(home_precision="unknown")


class Migration(migrations.Migration):

    dependencies = [
        ('technicians', '0008_technician_hourly_cost'),
    ]

    operations = [
        migrations.AddField(
            model_name='technician',
            name='home_address',
            field=models.CharField(blank=True, db_default='', default='', max_length=255, verbose_name='home base address'),
        ),
        migrations.AddField(
            model_name='technician',
            name='home_precision',
            field=models.CharField(choices=[('pending', 'not located yet'), ('unknown', 'location unknown'), ('province', 'province centre'), ('city', 'city centre'), ('district', 'district centre'), ('street', 'street'), ('exact', 'exact'), ('manual', 'placed by hand')], db_default='pending', default='pending', max_length=10, verbose_name='home base precision'),
        ),
        migrations.RunPython(existing_points, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='technician',
            index=models.Index(condition=models.Q(('home_precision', 'pending')), fields=['id'], name='technician_home_pending'),
        ),
    ]
