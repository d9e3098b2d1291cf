"""Completion reports move from workorders to this app (issue 13, S6b), keeping their tables
(``workorders_completionreport``, ``_checklistanswer``, ``_partusage``, ``_reportphoto``), indexes
and constraints: the models are created in the migration state only, and their content types
(with the permissions and admin log entries that hang on them) are renamed to this app. On a
fresh database there are no content types yet to rename.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODELS = ["completionreport", "checklistanswer", "partusage", "reportphoto"]


def _content_types_move(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if ContentType.objects.filter(app_label=old, model=model).exists():
            # One the other app got while both had the model (a partial reverse): the old one wins.
            ContentType.objects.filter(app_label=new, model=model).delete()
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_here(apps, schema_editor):
    _content_types_move(apps, "workorders", "completion")


def content_types_back(apps, schema_editor):
    _content_types_move(apps, "completion", "workorders")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0001_initial"),
        ("technicians", "0004_skill_moved_to_catalog"),
        ("workorders", "0012_notification_moved_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CompletionReport',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('submission_key', models.UUIDField(editable=False, unique=True)),
                        ('work_done', models.TextField(verbose_name='work done')),
                        ('labour_minutes', models.PositiveIntegerField(verbose_name='labour (minutes)')),
                        ('labour_rate', models.DecimalField(decimal_places=2, max_digits=10, verbose_name='labour rate per hour')),
                        ('callout_fee', models.DecimalField(decimal_places=2, max_digits=10, verbose_name='call-out fee')),
                        ('labour_amount', models.DecimalField(decimal_places=2, max_digits=10, verbose_name='labour')),
                        ('parts_amount', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='parts')),
                        ('total_amount', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='total')),
                        ('signer_name', models.CharField(max_length=120, verbose_name='signed by')),
                        ('signed_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='signed at')),
                        ('latitude', models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True)),
                        ('longitude', models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True)),
                        ('needs_second_visit', models.BooleanField(default=False, verbose_name='needs a second visit')),
                        ('second_visit_reason', models.CharField(blank=True, max_length=500, verbose_name='why a second visit')),
                        ('review_status', models.CharField(choices=[('pending', 'Awaiting review'), ('approved', 'Approved'), ('sent_back', 'Sent back')], default='pending', max_length=12, verbose_name='review')),
                        ('review_comment', models.TextField(blank=True, verbose_name='review comment')),
                        ('reviewed_at', models.DateTimeField(blank=True, null=True, verbose_name='reviewed at')),
                        ('revision_note', models.TextField(blank=True, verbose_name="technician's reply")),
                        ('revised_at', models.DateTimeField(blank=True, null=True, verbose_name='revised at')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='submitted')),
                        ('follow_up_work_order', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='follow_up_of_report', to='workorders.workorder', verbose_name='second-visit work order')),
                        ('reviewed_by', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('signature', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='signed_report', to='workorders.attachment', verbose_name='signature')),
                        ('submitted_by', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('technician', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='completion_reports', to='technicians.technician', verbose_name='technician')),
                        ('work_order', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='completion_reports', to='workorders.workorder', verbose_name='work order')),
                    ],
                    options={
                        'verbose_name': 'completion report',
                        'verbose_name_plural': 'completion reports',
                        'db_table': 'workorders_completionreport',
                        'ordering': ['-id'],
                    },
                ),
                migrations.CreateModel(
                    name='ChecklistAnswer',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('item_text', models.CharField(max_length=200, verbose_name='item')),
                        ('mandatory', models.BooleanField(default=False, verbose_name='mandatory')),
                        ('answer', models.CharField(choices=[('done', 'Done'), ('problem', 'Problem found'), ('na', 'Not applicable')], max_length=8, verbose_name='answer')),
                        ('note', models.CharField(blank=True, max_length=300, verbose_name='note')),
                        ('item', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='answers', to='catalog.checklistitem')),
                        ('report', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='answers', to='completion.completionreport')),
                    ],
                    options={
                        'verbose_name': 'checklist answer',
                        'verbose_name_plural': 'checklist answers',
                        'db_table': 'workorders_checklistanswer',
                        'ordering': ['report', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='PartUsage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('part_number', models.CharField(max_length=40, verbose_name='part number')),
                        ('name', models.CharField(max_length=120, verbose_name='name')),
                        ('unit', models.CharField(max_length=16, verbose_name='unit')),
                        ('quantity', models.DecimalField(decimal_places=2, max_digits=10, verbose_name='quantity')),
                        ('unit_price', models.DecimalField(decimal_places=2, max_digits=10, verbose_name='unit price')),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='amount')),
                        ('part', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='usages', to='catalog.part')),
                        ('report', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='parts', to='completion.completionreport')),
                    ],
                    options={
                        'verbose_name': 'part used',
                        'verbose_name_plural': 'parts used',
                        'db_table': 'workorders_partusage',
                        'ordering': ['report', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='ReportPhoto',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('latitude', models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True)),
                        ('longitude', models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True)),
                        ('taken_at', models.DateTimeField(blank=True, null=True, verbose_name='taken at')),
                        ('attachment', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='report_photo', to='workorders.attachment')),
                        ('report', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='photos', to='completion.completionreport')),
                    ],
                    options={
                        'verbose_name': 'report photo',
                        'verbose_name_plural': 'report photos',
                        'db_table': 'workorders_reportphoto',
                        'ordering': ['report', 'id'],
                    },
                ),
                migrations.AddIndex(
                    model_name='completionreport',
                    index=models.Index(fields=['review_status', 'id'], name='report_review_id'),
                ),
                migrations.AddConstraint(
                    model_name='completionreport',
                    constraint=models.CheckConstraint(condition=models.Q(('labour_minutes__lte', 1440)), name='report_labour_within_a_day'),
                ),
                migrations.AddConstraint(
                    model_name='completionreport',
                    constraint=models.CheckConstraint(condition=models.Q(('total_amount__gte', 0)), name='report_total_not_negative'),
                ),
                migrations.AddConstraint(
                    model_name='completionreport',
                    constraint=models.CheckConstraint(condition=models.Q(('review_status__in', ['pending', 'approved', 'sent_back'])), name='report_review_known'),
                ),
                migrations.AddConstraint(
                    model_name='checklistanswer',
                    constraint=models.UniqueConstraint(fields=('report', 'item'), name='report_answer_once'),
                ),
                migrations.AddConstraint(
                    model_name='partusage',
                    constraint=models.CheckConstraint(condition=models.Q(('quantity__gt', 0)), name='part_usage_quantity_positive'),
                ),
            ],
        ),
        migrations.RunPython(content_types_here, content_types_back, elidable=True),
    ]
