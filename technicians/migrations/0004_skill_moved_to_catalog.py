# Issue 13, S2a: Skill moved to catalog (same table, technicians_skill). State only: a bare
# DeleteModel would drop the table.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("technicians", "0003_catalog_references"),
        ("workorders", "0010_catalog_moved_out"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Skill"),
            ],
        ),
    ]
