# Issue 13, S3: a suggestion outcome keeps its work order's id, not a foreign key to it.
# The column (work_order_id) and its unique index stay; only the foreign-key constraint is
# dropped. The rename needs no SQL because the column name is fixed by db_column.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("knowledge", "0003_service_types_from_catalog"),
    ]

    operations = [
        migrations.AlterField(
            model_name="suggestionoutcome",
            name="work_order",
            field=models.BigIntegerField(db_column="work_order_id", unique=True, verbose_name="work order"),
        ),
        migrations.RenameField(
            model_name="suggestionoutcome",
            old_name="work_order",
            new_name="work_order_ref",
        ),
    ]
