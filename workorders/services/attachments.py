"""Attachments after the fact: metadata stripped from a stored photo."""

import io

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image

from core.errors import InvalidInput
from core.images import clean_image

from ..models import Attachment



def image_has_metadata(handle) -> bool:
    """Whether a stored image file carries EXIF, XMP or comments (files stored before they were cleaned)."""
    with Image.open(handle) as image:
        info = image.info
        return bool(image.getexif()) or any(key in info for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment"))


def attachment_strip_metadata(*, attachment_id: int) -> str:
    """Re-encode one stored image without its metadata (``core.images.clean_image``), as uploads are now.

    Answers ``"cleaned"``, ``"clean"`` (nothing to do), ``"missing"`` (no file) or ``"refused"``
    (no longer passes the image checks; left as it is, for staff to look at).
    """
    with transaction.atomic():
        attachment = Attachment.objects.select_for_update().filter(pk=attachment_id).first()
        if attachment is None:
            return "missing"
        try:
            with attachment.file.open("rb") as handle:
                data = handle.read()
        except (FileNotFoundError, ValueError):
            return "missing"
        try:
            if not image_has_metadata(io.BytesIO(data)):
                return "clean"
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            return "refused"
        upload = ContentFile(data, name=attachment.original_name or "photo")
        try:
            clean = clean_image(upload, field="file",
                                as_png=attachment.kind == Attachment.Kind.SIGNATURE)
        except InvalidInput:
            return "refused"
        old_name = attachment.file.name
        attachment.content_type = clean.content_type
        attachment.size = clean.size
        attachment.width, attachment.height = clean.width, clean.height
        attachment.file.save("upload", clean.content, save=False)
        attachment.save(update_fields=["file", "content_type", "size", "width", "height"])
        storage = attachment.file.storage
        # The old file goes once the new name is committed (a rollback keeps the old one in use).
        transaction.on_commit(lambda: storage.delete(old_name))
    return "cleaned"
