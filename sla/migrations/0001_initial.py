"""Business calendars, SLA policies and escalation matrices move here from workorders
(issue 13, S4a), keeping their tables (``workorders_businesscalendar`` ...) with their
constraints: the models are created in the migration state only, and their content types
(with the permissions and admin log entries that hang on them) are renamed to this app.
On a fresh database there are no content types yet to rename.
"""

import datetime

import django.db.models.deletion
from django.db import migrations, models

MOVED = ["businesscalendar", "workinghours", "calendarday", "escalationmatrix", "escalationlevel", "slapolicy"]


def _content_types_move(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if ContentType.objects.filter(app_label=old, model=model).exists():
            # One the other app got while both had the model (a partial reverse): the old one wins.
            ContentType.objects.filter(app_label=new, model=model).delete()
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_here(apps, schema_editor):
    _content_types_move(apps, "workorders", "sla")


def content_types_back(apps, schema_editor):
    _content_types_move(apps, "sla", "workorders")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0001_initial"),
        ("workorders", "0012_notification_moved_out"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='BusinessCalendar',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(max_length=40, unique=True, verbose_name='code')),
                        ('name', models.CharField(max_length=80, verbose_name='name')),
                        ('always_open', models.BooleanField(default=False, help_text='The clock always runs; working hours and days are ignored.', verbose_name='open 24×7')),
                        ('time_zone', models.CharField(default='Asia/Shanghai', max_length=40, verbose_name='time zone')),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'verbose_name': 'business calendar',
                        'verbose_name_plural': 'business calendars',
                        'db_table': 'workorders_businesscalendar',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='EscalationMatrix',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=80, unique=True, verbose_name='name')),
                    ],
                    options={
                        'verbose_name': 'escalation matrix',
                        'verbose_name_plural': 'escalation matrices',
                        'db_table': 'workorders_escalationmatrix',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='CalendarDay',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('date', models.DateField(verbose_name='date')),
                        ('kind', models.CharField(choices=[('holiday', 'Holiday (no work)'), ('workday', 'Working day')], max_length=8, verbose_name='kind')),
                        ('name', models.CharField(blank=True, max_length=80, verbose_name='name')),
                        ('start', models.TimeField(blank=True, help_text="Working days only; empty: Monday's hours.", null=True, verbose_name='from')),
                        ('end', models.TimeField(blank=True, null=True, verbose_name='until')),
                        ('source', models.CharField(choices=[('manual', 'Entered by hand'), ('cn', 'Mainland China official schedule')], default='manual', max_length=8, verbose_name='source')),
                        ('calendar', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='days', to='sla.businesscalendar')),
                    ],
                    options={
                        'verbose_name': 'holiday or working day',
                        'verbose_name_plural': 'holidays and working days',
                        'db_table': 'workorders_calendarday',
                        'ordering': ['calendar', 'date'],
                        'constraints': [models.UniqueConstraint(fields=('calendar', 'date'), name='calendar_day_once'), models.CheckConstraint(condition=models.Q(models.Q(('start__isnull', True), ('end__isnull', True)), models.Q(('start__isnull', False), ('end__isnull', False), models.Q(('end__gt', models.F('start')), ('end', datetime.time(0, 0)), _connector='OR')), _connector='OR'), name='calendar_day_hours')],
                    },
                ),
                migrations.CreateModel(
                    name='EscalationLevel',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(help_text='For example: warn the dispatcher.', max_length=80, verbose_name='name')),
                        ('target', models.CharField(blank=True, choices=[('first_response', 'First response'), ('arrival', 'Arrival'), ('resolution', 'Resolution')], help_text='Empty: every target.', max_length=16, verbose_name='target')),
                        ('percent', models.PositiveSmallIntegerField(help_text='75, 100, 150 ...', verbose_name='at % of the target')),
                        ('notify_roles', models.CharField(blank=True, help_text="Comma-separated role names, e.g. dispatcher,manager (their users' email).", max_length=120, verbose_name='notify roles')),
                        ('extra_recipients', models.TextField(blank=True, help_text='One per line: an email address, a mobile number (+86...) or a webhook URL.', verbose_name='other recipients')),
                        ('notify_webhook', models.BooleanField(default=False, verbose_name='post to the group robot')),
                        ('raise_priority', models.BooleanField(default=False, verbose_name='raise the priority')),
                        ('matrix', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='levels', to='sla.escalationmatrix')),
                    ],
                    options={
                        'verbose_name': 'escalation level',
                        'verbose_name_plural': 'escalation levels',
                        'db_table': 'workorders_escalationlevel',
                        'ordering': ['matrix', 'percent', 'target'],
                        'constraints': [models.UniqueConstraint(fields=('matrix', 'target', 'percent'), name='escalation_level_once'), models.CheckConstraint(condition=models.Q(('percent__gte', 1), ('percent__lte', 1000)), name='escalation_level_percent')],
                    },
                ),
                migrations.CreateModel(
                    name='SlaPolicy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=80, verbose_name='name')),
                        ('active', models.BooleanField(default=True, verbose_name='active')),
                        ('is_default', models.BooleanField(default=False, help_text='Used for work orders that no other policy matches.', verbose_name='default policy')),
                        ('priority', models.PositiveSmallIntegerField(blank=True, choices=[(1, 'Low'), (2, 'Normal'), (3, 'High'), (4, 'Urgent')], null=True, verbose_name='priority')),
                        ('customer_tier', models.CharField(blank=True, max_length=16, verbose_name='customer tier')),
                        ('no_sla', models.BooleanField(default=False, help_text='Matching work orders have no deadlines.', verbose_name='no SLA')),
                        ('first_response_minutes', models.PositiveIntegerField(blank=True, null=True, verbose_name='first response (business minutes)')),
                        ('arrival_minutes', models.PositiveIntegerField(blank=True, null=True, verbose_name='arrival (business minutes)')),
                        ('resolution_minutes', models.PositiveIntegerField(blank=True, null=True, verbose_name='resolution (business minutes)')),
                        ('at_risk_percent', models.PositiveSmallIntegerField(default=75, verbose_name='at risk from (% of the target)')),
                        ('calendar', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='policies', to='sla.businesscalendar', verbose_name='calendar')),
                        ('escalation_matrix', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='policies', to='sla.escalationmatrix', verbose_name='escalation matrix')),
                        ('service_type', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='sla_policies', to='catalog.servicetype', verbose_name='service type')),
                    ],
                    options={
                        'verbose_name': 'SLA policy',
                        'verbose_name_plural': 'SLA policies',
                        'db_table': 'workorders_slapolicy',
                        'ordering': ['name'],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='sla_policy_one_default'), models.CheckConstraint(condition=models.Q(('no_sla', True), ('calendar__isnull', False), _connector='OR'), name='sla_policy_calendar'), models.CheckConstraint(condition=models.Q(('at_risk_percent__gte', 1), ('at_risk_percent__lte', 99)), name='sla_policy_at_risk_percent')],
                    },
                ),
                migrations.CreateModel(
                    name='WorkingHours',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('weekday', models.PositiveSmallIntegerField(choices=[(0, 'Monday'), (1, 'Tuesday'), (2, 'Wednesday'), (3, 'Thursday'), (4, 'Friday'), (5, 'Saturday'), (6, 'Sunday')], verbose_name='weekday')),
                        ('start', models.TimeField(verbose_name='from')),
                        ('end', models.TimeField(help_text='00:00 means midnight at the end of the day.', verbose_name='until')),
                        ('calendar', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='hours', to='sla.businesscalendar')),
                    ],
                    options={
                        'verbose_name': 'working hours',
                        'verbose_name_plural': 'working hours',
                        'db_table': 'workorders_workinghours',
                        'ordering': ['calendar', 'weekday', 'start'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('weekday__gte', 0), ('weekday__lte', 6)), name='working_hours_weekday'), models.CheckConstraint(condition=models.Q(('end__gt', models.F('start')), ('end', datetime.time(0, 0)), _connector='OR'), name='working_hours_end_after_start')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_here, content_types_back, elidable=True),
    ]
