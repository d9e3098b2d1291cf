"""The admin pages of a master-data import: django-import-export's, with this project's
formats, size limit, template download, all-or-nothing confirmation and audit record
(core/imports.py says what each adds).

A file over ``IMPORT_BACKGROUND_BYTES`` is neither previewed nor written on the request: the
upload is saved and a Celery task makes the dry run (``core.tasks.preview_import``), then, once
confirmed, the import (``core.tasks.run_import``); the progress page between shows how far each
is and, after the dry run, the preview with its confirm button."""

import uuid
import zipfile

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from import_export.admin import ImportExportModelAdmin
from import_export.forms import ImportForm

from .db_router import replica_reads
from .exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, csv_bytes, xlsx_bytes
from .imports import FORMATS, ImportFileError, import_progress_key, record_import
from .tasks import preview_import, run_import, set_progress


class SizedImportForm(ImportForm):
    """The library's upload form, refusing a file over IMPORT_MAX_BYTES before it is read."""

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit = settings.IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s; files up to %(limit)s can be imported. Split it into smaller files.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        check_unpacked_size(upload, limit=settings.IMPORT_MAX_UNPACKED_BYTES)
        return upload


def check_unpacked_size(upload, *, limit: int) -> None:
    """An XLSX file is a zip: refuse one whose parts would unpack to more than ``limit`` bytes (a
    few kilobytes can claim gigabytes), from the zip's directory, before anything is unpacked. A
    file that says it is a zip but is not one is left to the format's own reader and its error."""
    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    if head != b"PK\x03\x04":
        return
    try:
        with zipfile.ZipFile(upload) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        return
    finally:
        upload.seek(0)
    if unpacked > limit:
        raise forms.ValidationError(
            _("The file unpacks to %(size)s; files unpacking to at most %(limit)s can be imported.")
            % {"size": filesizeformat(unpacked), "limit": filesizeformat(limit)}
        )


class MasterDataImportAdmin(ImportExportModelAdmin):
    """A ModelAdmin with import (dry-run preview, then confirm) and export of ``resource_classes``."""

    formats = FORMATS
    import_form_class = SizedImportForm
    import_template_name = "admin/core/import.html"
    export_template_name = "admin/core/export.html"  # the library's, without the style attributes the CSP refuses
    skip_admin_log = True  # one record per file (record_import), not one per row

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "import-progress/<str:job>/",
                self.admin_site.admin_view(self.import_progress_view),
                name="%s_%s_import_progress" % info,
            ),
            path(
                "import-template.<str:fmt>",
                self.admin_site.admin_view(self.import_template_view),
                name="%s_%s_import_template" % info,
            ),
        ]
        return urls + super().get_urls()

    def export_action(self, request):
        """The library's export page; the file's rows are read from the replica when there is a
        usable one (core/db_router.py)."""
        with replica_reads():
            return super().export_action(request)

    def get_import_context_data(self, **kwargs):
        info = self.opts.app_label, self.opts.model_name
        return {
            "template_urls": [
                (fmt.upper(), reverse("admin:%s_%s_import_template" % info, args=[fmt])) for fmt in ("csv", "xlsx")
            ],
            "import_max_bytes": settings.IMPORT_MAX_BYTES,
            "preview_rows": 200,
        }

    def import_action(self, request, **kwargs):
        """The library's upload and dry run; a large file's dry run goes to a worker instead."""
        if request.method == "POST" and self.has_import_permission(request):
            upload = request.FILES.get("import_file")
            if upload is not None and upload.size > settings.IMPORT_BACKGROUND_BYTES:
                form = self.create_import_form(request)
                if form.is_valid():
                    return self.start_background_preview(request, form)
        return super().import_action(request, **kwargs)

    def start_background_preview(self, request, form):
        fmt = int(form.cleaned_data["format"])
        upload = form.cleaned_data["import_file"]
        storage = self.write_to_tmp_storage(upload, self.get_import_formats()[fmt]())
        job = uuid.uuid4().hex
        set_progress(job, state="queued", stage="preview", done=0, total=0, user_id=request.user.pk)
        preview_import.delay(
            job, self.opts.app_label, self.opts.model_name, storage.name, fmt, upload.name, request.user.pk,
            translation.get_language(),
        )
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(reverse("admin:%s_%s_import_progress" % info, args=[job]))

    def import_template_view(self, request, fmt):
        """An empty file with this import's columns (headers in English and Chinese)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        resource = self.get_import_resource_classes(request)[0]()
        headers = resource.template_headers()
        name = f"{self.opts.model_name}-import-template.{'xlsx' if fmt == 'xlsx' else 'csv'}"
        if fmt == "xlsx":
            response = HttpResponse(xlsx_bytes(self.opts.model_name, headers, []), content_type=XLSX_CONTENT_TYPE)
        else:
            response = HttpResponse(csv_bytes(headers, []), content_type=CSV_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def write_to_tmp_storage(self, import_file, input_format):
        tmp_storage = self.get_tmp_storage_class()(
            encoding=None, read_mode=input_format.get_read_mode(), **self.get_tmp_storage_class_kwargs()
        )
        tmp_storage.save(b"".join(import_file.chunks()))
        return tmp_storage

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportFileError):
            form.add_error("import_file", str(e.args[0]))
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def process_dataset(self, dataset, form, request, **kwargs):
        # The confirmed import writes all rows or none: a row that became invalid since the
        # preview rolls the whole file back.
        return super().process_dataset(dataset, form, request, rollback_on_validation_errors=True, **kwargs)

    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        self._import_file_name = request.POST.get("original_file_name", "")
        form = self.create_confirm_form(request)
        if form.is_valid():
            fmt = int(form.cleaned_data["format"])
            input_format = self.get_import_formats()[fmt]()
            storage = self.get_tmp_storage_class()(
                name=form.cleaned_data["import_file_name"], encoding=None,
                read_mode=input_format.get_read_mode(), **self.get_tmp_storage_class_kwargs(),
            )
            if len(storage.read()) > settings.IMPORT_BACKGROUND_BYTES:
                return self.start_background_import(request, form, fmt)
        return super().process_import(request, **kwargs)

    def start_background_import(self, request, form, fmt):
        """A large file is written by a Celery task; the page that follows shows its progress."""
        job = uuid.uuid4().hex
        set_progress(job, state="queued", stage="import", done=0, total=0, user_id=request.user.pk)
        run_import.delay(
            job, self.opts.app_label, self.opts.model_name, form.cleaned_data["import_file_name"], fmt,
            self._import_file_name, request.user.pk,
        )
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(reverse("admin:%s_%s_import_progress" % info, args=[job]))

    def import_progress_view(self, request, job):
        if not self.has_import_permission(request):
            raise PermissionDenied
        state = cache.get(import_progress_key(job))
        if not state or state.get("user_id") != request.user.pk:
            raise Http404
        total = state.get("total") or 0
        preview = state.get("preview")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import"),
            "opts": self.opts,
            "state": state,
            "percent": int(100 * state.get("done", 0) / total) if total else 0,
            "running": state.get("state") in ("queued", "running"),
            "preview": preview,
            "preview_rows": 200,
        }
        if preview and preview.get("confirm"):
            # The library's confirm form, posted to process_import (which hands a large file to run_import).
            context["confirm_form"] = self.get_confirm_form_class(request)(initial=preview["confirm"])
        return TemplateResponse(request, "admin/core/import_progress.html", context)

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            messages.error(
                request,
                _("Nothing was imported: the data changed since the preview and some rows are no longer valid. "
                  "Upload the file again to see them."),
            )
            info = self.opts.app_label, self.opts.model_name
            return HttpResponseRedirect(reverse("admin:%s_%s_import" % info))
        record_import(user=request.user, model=self.model, file_name=self._import_file_name, result=result)
        return super().process_result(result, request)
