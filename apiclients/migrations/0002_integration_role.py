from django.db import migrations


def add_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="integration")


class Migration(migrations.Migration):
    """The role of the API clients' service users (core.roles.INTEGRATION)."""

    dependencies = [("apiclients", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(add_role, migrations.RunPython.noop)]
