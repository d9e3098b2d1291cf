"""Background work of core: a confirmed master-data import of a large file (core/import_admin.py).

The web request that confirms the import hands the file's name (in the shared media volume) to
this task and shows a page that reloads itself with the progress this task writes to the cache.
"""

from celery import shared_task
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import cache

from .imports import import_progress_key, record_import, result_counts

PROGRESS_SECONDS = 24 * 3600


def set_progress(job: str, **state) -> None:
    key = import_progress_key(job)
    cache.set(key, {**(cache.get(key) or {}), **state}, PROGRESS_SECONDS)


@shared_task(name="core.tasks.run_import", ignore_result=True)
def run_import(job: str, app_label: str, model_name: str, tmp_name: str, fmt: int, file_name: str, user_id: int):
    model = apps.get_model(app_label, model_name)
    model_admin = admin.site.get_model_admin(model)
    user = get_user_model().objects.get(pk=user_id)
    input_format = model_admin.get_import_formats()[fmt]()
    storage = model_admin.get_tmp_storage_class()(
        name=tmp_name, encoding=None, read_mode=input_format.get_read_mode(), **model_admin.get_tmp_storage_class_kwargs()
    )
    try:
        dataset = input_format.create_dataset(storage.read())
        set_progress(job, state="running", done=0, total=len(dataset))
        resource = model_admin.get_import_resource_classes(None)[0]()
        resource.progress = lambda done, total: set_progress(job, done=done, total=total)
        result = resource.import_data(dataset, dry_run=False, rollback_on_validation_errors=True, user=user)
        if result.has_errors() or result.has_validation_errors():
            set_progress(job, state="failed")
            return
        record_import(user=user, model=model, file_name=file_name, result=result)
        set_progress(job, state="done", done=len(dataset), counts=result_counts(result))
    except Exception:
        set_progress(job, state="failed")
        raise
    finally:
        storage.remove()


@shared_task(name="core.tasks.periodic", bind=True, ignore_result=True)
def periodic(self, task_name: str, every_seconds: float) -> str:
    """What beat sends for each periodic task: runs ``task_name`` once per tick (core/periodic.py)."""
    from .periodic import SENT_AT_HEADER, message_header, run_periodic

    return run_periodic(task_name, every_seconds, sent_at=message_header(self, SENT_AT_HEADER))
