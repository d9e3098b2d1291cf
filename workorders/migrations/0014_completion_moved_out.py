"""Completion reports now live in the app ``completion`` (issue 13, S6b), which took their
tables as they are: here they leave the migration state only (a plain DeleteModel would drop
the tables). The reports' lines and photos go first, the reports they point to last."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0013_sla_moved_out"),
        ("completion", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ReportPhoto"),
                migrations.DeleteModel(name="PartUsage"),
                migrations.DeleteModel(name="ChecklistAnswer"),
                migrations.DeleteModel(name="CompletionReport"),
            ],
        ),
    ]
