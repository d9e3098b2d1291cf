# Issue 13, S2a: skills and service types live in catalog now; the foreign keys point there.
# State only: the tables keep their names, so the columns and constraints stay as they are.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0001_initial"),
        ("technicians", "0002_shifts_partner_scope"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="technicianskill",
                    name="skill",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="technician_levels", to="catalog.skill"),
                ),
                migrations.AlterField(
                    model_name="partnerscope",
                    name="service_type",
                    field=models.ForeignKey(blank=True, help_text="Empty: any service type.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="catalog.servicetype", verbose_name="service type"),
                ),
                migrations.AlterField(
                    model_name="technician",
                    name="skills",
                    field=models.ManyToManyField(blank=True, related_name="technicians", through="technicians.TechnicianSkill", to="catalog.skill"),
                ),
            ],
        ),
    ]
