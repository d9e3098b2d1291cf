# Issue 13, S2a: the catalog models move here from workorders, technicians and inventory.
# Their tables keep their names (db_table), so every operation changes the migration state only;
# RunPython moves their content types, so permissions and admin log entries follow them.

import django.db.models.deletion
from django.db import migrations, models

MOVED = {
    "workorders": ["servicetype", "servicetypeskill", "checklistitem"],
    "technicians": ["skill"],
    "inventory": ["part"],
}


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_label, models_ in MOVED.items():
        ContentType.objects.filter(app_label=app_label, model__in=models_).update(app_label="catalog")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_label, models_ in MOVED.items():
        ContentType.objects.filter(app_label="catalog", model__in=models_).update(app_label=app_label)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("inventory", "0001_initial"),
        ("technicians", "0002_shifts_partner_scope"),
        ("workorders", "0009_notification_delivery_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ServiceType',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(max_length=40, unique=True, verbose_name='code')),
                        ('name', models.CharField(max_length=80, verbose_name='name')),
                        ('description', models.TextField(blank=True, verbose_name='description')),
                        ('default_duration_minutes', models.PositiveIntegerField(default=60, verbose_name='default duration (minutes)')),
                        ('callout_fee', models.DecimalField(decimal_places=2, default=0, max_digits=10, verbose_name='call-out fee')),
                        ('requires_review', models.BooleanField(default=False, help_text='Completion reports are reviewed before follow-up.', verbose_name="needs a manager's review")),
                        ('active', models.BooleanField(default=True, verbose_name='active')),
                    ],
                    options={
                        'verbose_name': 'service type',
                        'verbose_name_plural': 'service types',
                        'db_table': 'workorders_servicetype',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Skill',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(max_length=40, unique=True, verbose_name='code')),
                        ('name', models.CharField(max_length=80, verbose_name='name')),
                    ],
                    options={
                        'verbose_name': 'skill',
                        'verbose_name_plural': 'skills',
                        'db_table': 'technicians_skill',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Part',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('part_number', models.CharField(max_length=40, unique=True, verbose_name='part number')),
                        ('name', models.CharField(max_length=120, verbose_name='name')),
                        ('unit', models.CharField(default='pcs', help_text='For example pcs, m, kg, L.', max_length=16, verbose_name='unit')),
                        ('unit_price', models.DecimalField(decimal_places=2, max_digits=10, verbose_name='unit price')),
                        ('active', models.BooleanField(default=True, help_text='Only active parts can be used in reports.', verbose_name='active')),
                    ],
                    options={
                        'verbose_name': 'part',
                        'verbose_name_plural': 'parts',
                        'db_table': 'inventory_part',
                        'ordering': ['part_number'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('unit_price__gte', 0)), name='part_price_not_negative')],
                    },
                ),
                migrations.CreateModel(
                    name='ChecklistItem',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('text', models.CharField(max_length=200, verbose_name='item')),
                        ('mandatory', models.BooleanField(default=False, help_text='A report cannot be sent without it.', verbose_name='mandatory')),
                        ('position', models.PositiveSmallIntegerField(default=0, verbose_name='position')),
                        ('active', models.BooleanField(default=True, verbose_name='active')),
                        ('service_type', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='checklist_items', to='catalog.servicetype', verbose_name='service type')),
                    ],
                    options={
                        'verbose_name': 'checklist item',
                        'verbose_name_plural': 'checklist items',
                        'db_table': 'workorders_checklistitem',
                        'ordering': ['service_type', 'position', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='ServiceTypeSkill',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('min_level', models.PositiveSmallIntegerField(default=1, verbose_name='minimum level')),
                        ('service_type', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='required_skills', to='catalog.servicetype')),
                        ('skill', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.skill')),
                    ],
                    options={
                        'verbose_name': 'required skill',
                        'verbose_name_plural': 'required skills',
                        'db_table': 'workorders_servicetypeskill',
                    },
                ),
                migrations.AddField(
                    model_name='servicetype',
                    name='skills',
                    field=models.ManyToManyField(blank=True, related_name='service_types', through='catalog.ServiceTypeSkill', to='catalog.skill'),
                ),
                migrations.AddConstraint(
                    model_name='servicetypeskill',
                    constraint=models.UniqueConstraint(fields=('service_type', 'skill'), name='service_type_skill_once'),
                ),
                migrations.AddConstraint(
                    model_name='servicetypeskill',
                    constraint=models.CheckConstraint(condition=models.Q(('min_level__gte', 1), ('min_level__lte', 5)), name='service_type_skill_level'),
                ),
                migrations.AddConstraint(
                    model_name='servicetype',
                    constraint=models.CheckConstraint(condition=models.Q(('callout_fee__gte', 0)), name='service_type_fee_not_negative'),
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
