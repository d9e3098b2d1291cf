# Issue 13, S2a: Part moved to catalog (same table, inventory_part). State only: a bare
# DeleteModel would drop the table. The app stays installed: workorders/0004 depends on 0001.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0001_initial"),
        ("workorders", "0010_catalog_moved_out"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Part"),
            ],
        ),
    ]
