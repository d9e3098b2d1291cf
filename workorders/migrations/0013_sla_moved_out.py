"""Business calendars, SLA policies and escalation matrices now live in the app ``sla``
(issue 13, S4a), which took their tables as they are: the two foreign keys that point at
them change in the migration state only (same tables, same columns), and the models leave
the state only, the ones that point at others first (a plain DeleteModel would drop the
tables)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0012_notification_moved_out"),
        ("sla", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="workorder",
                    name="sla_policy",
                    field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True,
                                            on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                                            to="sla.slapolicy", verbose_name="SLA policy"),
                ),
                migrations.AlterField(
                    model_name="escalation",
                    name="level",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                            to="sla.escalationlevel", verbose_name="level"),
                ),
                migrations.DeleteModel(name="SlaPolicy"),
                migrations.DeleteModel(name="EscalationLevel"),
                migrations.DeleteModel(name="EscalationMatrix"),
                migrations.DeleteModel(name="CalendarDay"),
                migrations.DeleteModel(name="WorkingHours"),
                migrations.DeleteModel(name="BusinessCalendar"),
            ],
        ),
    ]
