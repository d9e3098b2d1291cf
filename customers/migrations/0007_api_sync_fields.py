"""Integrations sync customers, sites and equipment through the API: each row's reference in
another system (unique when set) and its creation and last change. The moments default to now()
in the database, so the rows already there and rows written by raw SQL get one; adding such a
column rewrites no table (PostgreSQL keeps the value of a non-volatile default once).

The references' unique indexes are built concurrently in 0008: here the columns come without
them (the state has them unique)."""

import django.db.models.functions.datetime
import django.utils.timezone
from django.db import migrations, models

REF_HELP = "This row's reference in another system (CRM, ERP); unique when set."


def _ref(unique: bool):
    return models.CharField(blank=True, help_text=REF_HELP, max_length=100, null=True, unique=unique,
                            verbose_name="external reference")


def _created(editable: bool = True):
    return models.DateTimeField(db_default=django.db.models.functions.datetime.Now(),
                                default=django.utils.timezone.now, editable=editable, verbose_name="created")


def _updated():
    return models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now(),
                                verbose_name="updated")


def _add_ref(model_name: str):
    return migrations.SeparateDatabaseAndState(
        database_operations=[migrations.AddField(model_name=model_name, name="external_ref", field=_ref(False))],
        state_operations=[migrations.AddField(model_name=model_name, name="external_ref", field=_ref(True))],
    )


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0006_customer_email_upper"),
    ]

    operations = [
        migrations.AlterField(model_name="customer", name="created_at", field=_created()),
        migrations.AddField(model_name="customer", name="updated_at", field=_updated()),
        _add_ref("customer"),
        migrations.AddField(model_name="site", name="created_at", field=_created(False)),
        migrations.AddField(model_name="site", name="updated_at", field=_updated()),
        _add_ref("site"),
        migrations.AddField(model_name="equipment", name="created_at", field=_created(False)),
        migrations.AddField(model_name="equipment", name="updated_at", field=_updated()),
        _add_ref("equipment"),
    ]
