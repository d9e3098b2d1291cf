# Issue 13, S2a: ServiceType lives in catalog now. State only: the model's name is unchanged, so
# the table knowledge_article_service_types and its column servicetype_id keep their names.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0001_initial"),
        ("knowledge", "0002_search_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="article",
                    name="service_types",
                    field=models.ManyToManyField(blank=True, related_name="articles", to="catalog.servicetype", verbose_name="service types"),
                ),
            ],
        ),
    ]
