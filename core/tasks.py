"""Background work of core: the dry run and the confirmed import of a large master-data file
(core/import_admin.py).

The web request that uploads (or confirms) the import hands the file's name (in the shared media
volume) to a task and shows a page that reloads itself with the progress the task writes to the
cache; after the dry run that page shows the preview.
"""

from celery import shared_task
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import translation

from .imports import (
    PREVIEW_ROWS, ImportFileError, import_progress_key, purge_import_files, record_import, result_counts,
)

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


def _storage(model_admin, tmp_name: str, input_format):
    return model_admin.get_tmp_storage_class()(
        name=tmp_name, encoding=None, read_mode=input_format.get_read_mode(), **model_admin.get_tmp_storage_class_kwargs()
    )


def preview_of(result) -> dict:
    """What the preview page shows of a dry run, as plain values the cache can keep: the counts,
    file-wide errors, every bad row as (line, column, reason), and the first rows' changes."""
    invalid = []
    for row in result.invalid_rows:
        for column, messages in row.field_specific_errors.items():
            invalid += [(row.number + 1, column, str(m)) for m in messages]
        invalid += [(row.number + 1, "", str(m)) for m in row.non_field_specific_errors]
    errors = [str(e.error) for e in result.base_errors]
    errors += [str(e.error) for _line, row_errors in result.row_errors() for e in row_errors]
    rows = [
        (row.import_type, [str(cell) for cell in (row.diff or [])])
        for row in result.valid_rows()[:PREVIEW_ROWS]
    ]
    return {
        "counts": result_counts(result), "errors": errors, "invalid": invalid,
        "headers": [str(h) for h in result.diff_headers], "rows": rows, "valid": len(result.valid_rows()),
    }


@shared_task(name="core.tasks.preview_import", ignore_result=True)
def preview_import(job: str, app_label: str, model_name: str, tmp_name: str, fmt: int, file_name: str,
                   user_id: int, language: str):
    """The dry run of a large file: nothing is written; the preview (in the user's language) goes
    to the progress page. A file that can be imported stays for the confirmed import."""
    model = apps.get_model(app_label, model_name)
    model_admin = admin.site.get_model_admin(model)
    user = get_user_model().objects.get(pk=user_id)
    input_format = model_admin.get_import_formats()[fmt]()
    storage = _storage(model_admin, tmp_name, input_format)
    keep = False
    with translation.override(language):
        try:
            try:
                dataset = input_format.create_dataset(storage.read())
            except ImportFileError as error:
                set_progress(job, state="previewed", preview={"errors": [str(error.args[0])], "invalid": []})
                return
            set_progress(job, state="running", done=0, total=len(dataset))
            resource = model_admin.get_import_resource_classes(None)[0]()
            resource.progress = lambda done, total: set_progress(job, done=done, total=total)
            result = resource.import_data(dataset, dry_run=True, raise_errors=False, file_name=file_name, user=user)
            preview = preview_of(result)
            keep = not (result.has_errors() or result.has_validation_errors()) and len(dataset) > 0
            if keep:
                preview["confirm"] = {
                    "import_file_name": storage.name, "original_file_name": file_name, "format": fmt, "resource": "",
                }
            set_progress(job, state="previewed", done=len(dataset), preview=preview)
        except Exception:
            set_progress(job, state="failed")
            raise
        finally:
            if not keep:
                storage.remove()


@shared_task(name="core.tasks.import_files_purge", ignore_result=True)
def import_files_purge() -> int:
    """Beat: delete uploads whose preview was never confirmed (older than IMPORT_FILE_MAX_AGE_SECONDS)."""
    return purge_import_files()


@shared_task(name="core.tasks.periodic", bind=True, ignore_result=True)
def periodic(self, task_name: str, every_seconds: float) -> str:
    """What beat sends for each periodic task: runs ``task_name`` once per tick (core/periodic.py)."""
    from .periodic import SENT_AT_HEADER, message_header, run_periodic

    return run_periodic(task_name, every_seconds, sent_at=message_header(self, SENT_AT_HEADER))
