"""Stored files (photos, signatures, import uploads) and how a permitted user gets one.

Every file goes through Django's storage API (``STORAGES["default"]``): a folder under
``MEDIA_ROOT`` by default, or a private bucket in an S3-compatible object store when
``STORAGE_S3_BUCKET`` is set (django-storages; config/settings.py). Nothing is ever
served from a public address: a view checks who may see the file, then calls
``file_response``, which streams a local file itself and, for the object store,
answers with a redirect to a signed URL that expires after ``STORAGE_S3_URL_SECONDS``.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.utils.translation import gettext as _


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
