"""Re-encode stored images that still carry metadata (EXIF with GPS, camera, owner; XMP; comments).

    manage.py attachments_strip_metadata            # every attachment
    manage.py attachments_strip_metadata --kind customer_photo

Uploads have been stored without metadata since images go through ``core.images.clean_image``;
run this once after deploying that, for the files stored before. Files already clean are left
as they are, so running it again does nothing.
"""

from django.core.management.base import BaseCommand

from workorders.models import Attachment
from workorders.services import attachment_strip_metadata


class Command(BaseCommand):
    help = "Re-encode stored images that still carry EXIF, XMP or comments."

    def add_arguments(self, parser):
        parser.add_argument("--kind", action="append", choices=Attachment.Kind.values,
                            help="attachment kind (repeatable); default: all")

    def handle(self, *args, kind=None, **options):
        ids = Attachment.objects.order_by("id")
        if kind:
            ids = ids.filter(kind__in=kind)
        counts = {"cleaned": 0, "clean": 0, "missing": 0, "refused": 0}
        for attachment_id in ids.values_list("id", flat=True).iterator(chunk_size=500):
            outcome = attachment_strip_metadata(attachment_id=attachment_id)
            counts[outcome] += 1
            if outcome == "refused":
                self.stderr.write(f"attachment {attachment_id}: not a readable image within the limits; left as it is")
        self.stdout.write(", ".join(f"{n} {what}" for what, n in counts.items()))
