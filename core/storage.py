"""Stored files (photos, signatures, import uploads) and how a permitted user gets one.

Every file goes through Django's storage API (``STORAGES["default"]``): a folder under
``MEDIA_ROOT`` by default, or a private bucket in an S3-compatible object store when
``STORAGE_S3_BUCKET`` is set (django-storages; config/settings.py). Nothing is ever
served from a public address: a view checks who may see the file, then calls
``file_response``, which streams a local file itself and, for the object store,
answers with a redirect to a signed URL that expires after ``STORAGE_S3_URL_SECONDS``.

``save_files`` stores the files of one change all or none, before its transaction: when the
store does not answer, the change is refused with ``ServiceUnavailable`` and no row is written.
"""

import logging
import os
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.utils.translation import gettext as _

from .errors import ServiceUnavailable

logger = logging.getLogger(__name__)

# What a storage raises when it cannot store a file: the object store's client (no answer,
# refused, no such bucket ...), or the local folder (full, not writable).
STORE_ERRORS = (BotoCoreError, ClientError, OSError)


def is_local(storage) -> bool:
    """True for files in a folder of this host (the default), False for an object store."""
    return isinstance(storage, FileSystemStorage)


def file_response(field_file, *, content_type: str):
    """The file behind a FieldFile, for a request the caller has already allowed.

    Local: the bytes, cached by the browser alone. Object store: a 302 to a signed URL
    valid for ``STORAGE_S3_URL_SECONDS`` that makes the store answer with the file's
    own content type and no shared caching; the redirect itself is never cached, so a
    later request passes the permission check again.
    """
    storage = field_file.storage
    if is_local(storage):
        try:
            handle = field_file.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404(_("The file is missing.")) from None
        response = FileResponse(handle, content_type=content_type)
        response["Cache-Control"] = "private, max-age=3600"
        return response
    if not field_file.name:
        raise Http404(_("The file is missing."))
    url = storage.url(
        field_file.name,
        parameters={"ResponseContentType": content_type, "ResponseCacheControl": "private, max-age=300"},
        expire=settings.STORAGE_S3_URL_SECONDS,
    )
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response


def ping() -> bool:
    """Whether the default storage answers (for /readyz): a folder that exists, or a bucket
    the store lets these credentials list (one HEAD request)."""
    from django.core.files.storage import default_storage

    if is_local(default_storage):
        location = Path(default_storage.location)
        # Not made yet: the first save creates it.
        return not location.exists() or (location.is_dir() and os.access(location, os.W_OK))
    default_storage.connection.meta.client.head_bucket(Bucket=default_storage.bucket_name)
    return True


def save_files(files) -> None:
    """Store each ``(field_file, content)`` under the name its field gives it (``save=False``: no row
    is written here), all or none: should the storage fail on one, those already stored are deleted
    again and ``ServiceUnavailable`` says so in words a person can act on."""
    saved = []
    try:
        for field_file, content in files:
            field_file.save("upload", content, save=False)
            saved.append(field_file)
    except STORE_ERRORS as exc:
        logger.warning("File store failed, nothing saved (%s: %s)", type(exc).__name__, exc)
        delete_files(saved)
        raise ServiceUnavailable(
            _("The photos could not be stored: the file store is not answering. Nothing was saved; "
              "please try again in a few minutes."),
            code="storage_unavailable",
        ) from exc


def delete_files(field_files) -> None:
    """Delete stored files no row will name (a change that failed after storing them); a file the
    store cannot delete now is logged and left."""
    for field_file in field_files:
        try:
            field_file.storage.delete(field_file.name)
        except STORE_ERRORS as exc:
            logger.warning("Could not delete %s (%s: %s)", field_file.name, type(exc).__name__, exc)
