# Issue 13, S2a: ServiceType, ServiceTypeSkill and ChecklistItem moved to catalog, keeping their
# tables. State only: the foreign keys point at the same tables, and a bare DeleteModel would
# drop them.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0001_initial"),
        ("knowledge", "0003_service_types_from_catalog"),
        ("technicians", "0003_catalog_references"),
        ("workorders", "0009_notification_delivery_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="workorder",
                    name="service_type",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="work_orders", to="catalog.servicetype", verbose_name="service type"),
                ),
                migrations.AlterField(
                    model_name="slapolicy",
                    name="service_type",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="sla_policies", to="catalog.servicetype", verbose_name="service type"),
                ),
                migrations.AlterField(
                    model_name="checklistanswer",
                    name="item",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="answers", to="catalog.checklistitem"),
                ),
                migrations.AlterField(
                    model_name="partusage",
                    name="part",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="usages", to="catalog.part"),
                ),
                migrations.RemoveField(model_name="servicetype", name="skills"),
                migrations.DeleteModel(name="ServiceTypeSkill"),
                migrations.DeleteModel(name="ChecklistItem"),
                migrations.DeleteModel(name="ServiceType"),
            ],
        ),
    ]
