"""Completion reports: submit (resolving the work order), review, revise.

Every function here is one transaction. The lifecycle itself goes through
``workorders.services.workorder_transition``; this module adds what a completion
carries (checklist answers, parts, labour, photos, signature) around it.
"""

import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageOps

from core import roles as R
from core.errors import Conflict, InvalidInput, NotFound
from core.images import CleanImage, clean_image
from core.storage import delete_files, save_files
from core.validation import position_check
from core.permissions import require
from catalog.custom_fields import custom_values_clean
from catalog.models import ChecklistItem, CustomField, Part
from catalog.selectors import custom_fields_for
from inventory.services import stock_use_for_completion
from notifications.services import notifications_add
from workorders.lifecycle import Status, flow_for
from workorders.messages import parts_used_webhooks
from workorders.models import Attachment, WorkOrder, WorkOrderEvent
from workorders.selectors import workorder_visible_to
from workorders.services import workorder_create, workorder_transition
from workorders.survey import workorder_move_on

from .models import ChecklistAnswer, CompletionReport, PartUsage, ReportPhoto

CENT = Decimal("0.01")
WORK_DONE_MAX = 4000
MAX_PHOTOS = 10
MAX_PART_LINES = 30
MAX_QUANTITY = Decimal("9999")
MAX_LABOUR_MINUTES = 24 * 60
DEFAULT_LABOUR_RATE = "120.00"


def labour_rate() -> Decimal:
    """The labour rate per hour: ``settings.LABOUR_RATE_PER_HOUR`` (default 120.00)."""
    return Decimal(str(getattr(settings, "LABOUR_RATE_PER_HOUR", DEFAULT_LABOUR_RATE))).quantize(CENT)


# --- charges -----------------------------------------------------------------


@dataclass
class PartLine:
    part: Part
    quantity: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.part.unit_price * self.quantity).quantize(CENT, ROUND_HALF_UP)


@dataclass
class Charges:
    callout_fee: Decimal
    labour_minutes: int
    labour_rate: Decimal
    labour_amount: Decimal
    parts_amount: Decimal
    total: Decimal
    lines: list = field(default_factory=list)
    covered: Decimal = Decimal("0.00")


def completion_charges(*, service_type, labour_minutes: int, lines: list[PartLine], covered_percent: int = 0) -> Charges:
    """Call-out fee of the service type + labour at the hourly rate + parts, less the share a
    contract or the warranty covers (``covered_percent``: 100 = free), as the page shows them."""
    rate = labour_rate()
    callout = Decimal(service_type.callout_fee).quantize(CENT)
    labour = (rate * Decimal(labour_minutes) / Decimal(60)).quantize(CENT, ROUND_HALF_UP)
    parts = sum((line.amount for line in lines), Decimal("0.00"))
    subtotal = callout + labour + parts
    covered = (subtotal * Decimal(covered_percent or 0) / Decimal(100)).quantize(CENT, ROUND_HALF_UP)
    return Charges(callout, labour_minutes, rate, labour, parts, subtotal - covered, list(lines), covered)


# --- costs -------------------------------------------------------------------

DEFAULT_LABOUR_COST = "80.00"
MAX_TRAVEL_MINUTES = 24 * 60  # a drive logged longer than a day (a forgotten "arrive") counts a day


def hourly_cost(technician) -> Decimal:
    """What an hour of this technician costs: their own ``hourly_cost``, else
    ``settings.LABOUR_COST_PER_HOUR`` (default 80.00)."""
    own = getattr(technician, "hourly_cost", None)
    if own is not None:
        return Decimal(own).quantize(CENT)
    return Decimal(str(getattr(settings, "LABOUR_COST_PER_HOUR", DEFAULT_LABOUR_COST))).quantize(CENT)


def drive_minutes(events) -> int:
    """Minutes on the road in (action, time, ...) events in order: each ``depart`` to the
    ``arrive`` after it, added up (a drive that never arrived counts nothing)."""
    total, departed = 0, None
    for action, at, *_rest in events:
        if action == "depart":
            departed = at
        elif action == "arrive" and departed is not None:
            total += max(0, int((at - departed).total_seconds() // 60))
            departed = None
    return min(total, MAX_TRAVEL_MINUTES)


def travel_minutes(work_order_id: int, *, until=None) -> int:
    """Minutes on the road to this order since its last completion report (``drive_minutes`` of
    its events): a reopened order's second report counts only the second visit's drive."""
    events = WorkOrderEvent.objects.filter(work_order_id=work_order_id, action__in=("depart", "arrive"))
    if until is not None:
        events = events.filter(created_at__lte=until)
    previous = (CompletionReport.objects.filter(work_order_id=work_order_id).order_by("-created_at")
                .values_list("created_at", flat=True).first())
    if previous is not None:
        events = events.filter(created_at__gt=previous)
    return drive_minutes(events.order_by("id").values_list("action", "created_at"))


@dataclass
class Costs:
    parts: Decimal
    labour: Decimal
    travel_minutes: int
    travel: Decimal

    @property
    def total(self) -> Decimal:
        return self.parts + self.labour + self.travel


def job_costs(*, technician, labour_minutes: int, travel_minutes: int, lines: list[PartLine]) -> Costs:
    """What a job cost the company: parts at their unit cost, labour and travel at the
    technician's cost per hour."""
    rate = hourly_cost(technician)
    parts = sum(((line.part.unit_cost * line.quantity).quantize(CENT, ROUND_HALF_UP) for line in lines),
                Decimal("0.00"))
    labour = (rate * Decimal(labour_minutes) / Decimal(60)).quantize(CENT, ROUND_HALF_UP)
    travel = (rate * Decimal(travel_minutes) / Decimal(60)).quantize(CENT, ROUND_HALF_UP)
    return Costs(parts, labour, travel_minutes, travel)


# --- input checks ------------------------------------------------------------


def _invalid(field_name: str, message: str) -> InvalidInput:
    return InvalidInput(message, fields={field_name: [message]})


def _check_labour(labour_minutes) -> int:
    try:
        minutes = int(labour_minutes)
    except (TypeError, ValueError):
        raise _invalid("labour_minutes", _("Enter the labour time in minutes.")) from None
    if not 0 <= minutes <= MAX_LABOUR_MINUTES:
        message = _("Labour time must be between 0 and %(n)d minutes.") % {"n": MAX_LABOUR_MINUTES}
        raise _invalid("labour_minutes", message)
    return minutes


def _check_parts(parts) -> list[PartLine]:
    """``parts`` is a list of (part number, quantity); each part active, each quantity positive."""
    parts = [(str(number or "").strip(), qty) for number, qty in parts or ()]
    parts = [(number, qty) for number, qty in parts if number or str(qty or "").strip()]
    if len(parts) > MAX_PART_LINES:
        raise _invalid("parts", _("Enter at most %(n)d lines of parts.") % {"n": MAX_PART_LINES})
    numbers = {number for number, _qty in parts if number}
    catalog = {p.part_number: p for p in Part.objects.filter(part_number__in=numbers)} if numbers else {}
    lines = []
    for number, raw in parts:
        if not number:
            raise _invalid("parts", _("Choose a part for every line with a quantity."))
        part = catalog.get(number)
        if part is None:
            raise _invalid("parts", _("There is no part %(number)s in the catalog.") % {"number": number})
        if not part.active:
            raise _invalid("parts", _("Part %(part)s is no longer in use; choose another.") % {"part": part})
        try:
            quantity = Decimal(str(raw).strip().replace(",", "."))
        except (InvalidOperation, ValueError):
            quantity = None
        if quantity is None or not quantity.is_finite() or quantity <= 0:
            raise _invalid("parts", _("The quantity of %(part)s must be more than zero.") % {"part": part})
        if quantity > MAX_QUANTITY or quantity != quantity.quantize(CENT):
            raise _invalid("parts", _("The quantity of %(part)s is not a valid amount.") % {"part": part})
        if not part.fractional and quantity != quantity.to_integral_value():
            message = _("%(part)s is counted in whole %(unit)s; enter a whole number.") % {"part": part,
                                                                                          "unit": part.unit}
            raise _invalid("parts", message)
        lines.append(PartLine(part, quantity.quantize(CENT)))
    return lines


def _check_checklist(items: list[ChecklistItem], answers: dict) -> list[tuple[ChecklistItem, str, str]]:
    """Answers for the service type's items; every mandatory item done or reported as a problem."""
    valid = set(ChecklistAnswer.Answer.values)
    result, missing = [], []
    for item in items:
        raw = answers.get(item.pk) or answers.get(str(item.pk)) or ""
        answer, note = (raw if isinstance(raw, tuple) else (raw, ""))
        answer = (answer or "").strip()
        if answer and answer not in valid:
            raise _invalid(f"check_{item.pk}", _("Unknown answer for “%(item)s”.") % {"item": item.text})
        if item.mandatory and answer not in (ChecklistAnswer.Answer.DONE, ChecklistAnswer.Answer.PROBLEM):
            missing.append(item)
            continue
        if answer:
            result.append((item, answer, (note or "").strip()[:300]))
    if missing:
        separator = "、" if (get_language() or "").startswith("zh") else ", "
        names = separator.join(f"“{item.text}”" for item in missing)
        message = _("Answer the mandatory checklist items: %(items)s.") % {"items": names}
        fields = {"checklist": [message]}
        fields.update({f"check_{item.pk}": [_("This item is mandatory.")] for item in missing})
        raise InvalidInput(message, fields=fields)
    return result


# --- images ------------------------------------------------------------------


@dataclass
class PhotoUpload:
    """An on-site photo as uploaded, with the position and time the phone reported (if any)."""

    file: object
    latitude: object = None
    longitude: object = None
    taken_at: datetime | None = None


def _is_blank(image_bytes: bytes) -> bool:
    with Image.open(io.BytesIO(image_bytes)) as image:
        if image.mode in ("RGBA", "LA") or "transparency" in image.info:
            return image.convert("RGBA").getchannel("A").getbbox() is None
        # No alpha: blank when every pixel is (near) white.
        return ImageOps.invert(image.convert("L")).point(lambda v: 255 if v > 16 else 0).getbbox() is None


def _check_signature(signature) -> CleanImage:
    if signature is None or (isinstance(signature, bytes | bytearray) and not signature):
        raise _invalid("signature", _("The customer's signature is required."))
    if isinstance(signature, bytes | bytearray):
        signature = ContentFile(bytes(signature), name="signature.png")
    clean = clean_image(signature, field="signature", as_png=True, max_side=1200)
    if _is_blank(clean.content.read()):
        raise _invalid("signature", _("The customer's signature is required."))
    clean.content.seek(0)
    return clean


def _check_flow_steps(work_order: WorkOrder, *, signature, signer_name: str, photo_count: int) -> CleanImage | None:
    """The completion steps of the service type's flow (``catalog.flows``, kept per process): the
    customer's signature (required unless the flow says otherwise; checked when given all the
    same) and the fewest on-site photos. Returns the signature to store, or None (none given, none
    required). Orders resolved before a flow changed are never checked again: this runs only here."""
    flow = flow_for(work_order.service_type_id)
    if photo_count < flow.after_photos:
        raise _invalid("photos", ngettext(
            "Attach at least %(n)d photo of the work done.", "Attach at least %(n)d photos of the work done.",
            flow.after_photos,
        ) % {"n": flow.after_photos})
    given = not (signature is None or (isinstance(signature, bytes | bytearray) and not signature))
    if not flow.signature and not given:
        return None
    if not signer_name:
        raise _invalid("signer_name", _("Type the name of the person who signs."))
    return _check_signature(signature)


def _check_photos(photos: list[PhotoUpload]) -> list[CleanImage]:
    if len(photos) > MAX_PHOTOS:
        raise _invalid("photos", _("Attach at most %(n)d photos.") % {"n": MAX_PHOTOS})
    cleaned = []
    for photo in photos:
        clean = clean_image(photo.file, field="photos")
        # What the phone reported wins (its resized copy has no EXIF left); else the EXIF's own.
        if photo.latitude not in (None, "") and photo.longitude not in (None, ""):
            try:
                clean.latitude, clean.longitude = position_check(photo.latitude, photo.longitude)
            except InvalidInput:
                clean.latitude = clean.longitude = None
        elif clean.latitude is not None:
            try:
                clean.latitude, clean.longitude = position_check(clean.latitude, clean.longitude)
            except InvalidInput:
                clean.latitude = clean.longitude = None
        if photo.taken_at is not None:
            clean.taken_at = photo.taken_at
        cleaned.append(clean)
    return cleaned


def _attachment(work_order: WorkOrder, image: CleanImage, kind: str) -> Attachment:
    """The row of a file, not saved yet (the file is stored first: ``core.storage.save_files``)."""
    return Attachment(
        work_order=work_order,
        kind=kind,
        content_type=image.content_type,
        size=image.content.size,
        width=image.width,
        height=image.height,
        original_name=image.name[:200],
    )


# --- submit ------------------------------------------------------------------


def _field_role(actor) -> str:
    names = R.roles_of(actor)
    if R.PARTNER_TECHNICIAN in names:
        return R.PARTNER_TECHNICIAN
    return R.TECHNICIAN


def _existing(submission_key, work_order_id: int) -> CompletionReport | None:
    report = CompletionReport.objects.filter(submission_key=submission_key).select_related("work_order").first()
    if report is not None and report.work_order_id != work_order_id:
        raise Conflict(_("This form was already used for another work order."), code="submission_key_reused")
    return report


def completion_submit(
    *,
    work_order_id: int,
    actor,
    submission_key: uuid.UUID,
    work_done: str,
    labour_minutes,
    signer_name: str,
    signature,
    checklist: dict | None = None,
    parts: list | None = None,
    photos: list[PhotoUpload] = (),
    needs_second_visit: bool = False,
    second_visit_reason: str = "",
    latitude=None,
    longitude=None,
    custom: dict | None = None,
) -> tuple[CompletionReport, bool]:
    """Record the completion report and resolve the work order, in one transaction.

    ``signature`` is the PNG of the customer's signature (bytes or a file).
    ``checklist`` maps checklist item ids to an answer (or an (answer, note)
    pair); ``parts`` is a list of (part number, quantity). ``custom``: the service type's
    completion custom fields, key → value (a photo field's value is the uploaded file, stored as an
    on-site photo of the report whose attachment id the report keeps), checked by
    ``catalog.custom_fields``: a required one missing refuses the completion. Returns
    ``(report, created)``: a replay of ``submission_key`` returns the first
    report and ``False``, with no second transition.
    """
    submission_key = _submission_key(submission_key)
    # The work order first: someone who may not see it learns nothing more.
    work_order = _order_to_complete(work_order_id, actor)
    existing = _existing(submission_key, work_order.pk)
    if existing is not None:
        return existing, False
    _check_in_progress(work_order)
    checked = _check_report(
        work_order, work_done=work_done, labour_minutes=labour_minutes, signer_name=signer_name,
        signature=signature, checklist=checklist, parts=parts, photos=photos, needs_second_visit=needs_second_visit,
        second_visit_reason=second_visit_reason, latitude=latitude, longitude=longitude, custom=custom,
    )
    technician = getattr(actor, "technician", None) or work_order.technician
    files = _store_files(work_order, checked)
    committed = False
    try:
        with transaction.atomic():
            # Locks the work order and checks state, role and scope again.
            work_order = workorder_transition(
                work_order_id=work_order.pk, action="complete", actor=actor, note=checked.work_done[:2000],
                latitude=checked.latitude, longitude=checked.longitude,
                data={"submission_key": str(submission_key), "total": str(checked.charges.total),
                      "second_visit": checked.needs_second_visit,
                      # Parts approval (the service type's flow): a report with parts waits for a manager.
                      **({"parts_used": len(checked.lines)} if checked.lines else {})},
            )
            now = work_order.resolved_at or timezone.now()
            report = _save_report(work_order, actor=actor, technician=technician, submission_key=submission_key,
                                  checked=checked, files=files, now=now)
            _save_report_lines(report, actor=actor, checked=checked, files=files, now=now)
        committed = True
    except (IntegrityError, Conflict):
        # Two submissions with one key raced past the first check (IntegrityError: the first won),
        # or a replay that waited for the first one's row lock finds the order resolved (Conflict):
        # answer with the report the first one made.
        existing = _existing(submission_key, work_order.pk)
        if existing is not None:
            return existing, False
        raise
    finally:
        if not committed:
            delete_files(files.stored())
    return report, True


def _submission_key(value) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise _invalid("submission_key", _("The form has expired; open it again.")) from None


def _order_to_complete(work_order_id: int, actor) -> WorkOrder:
    """The order, if ``actor`` may see it (else NotFound) and is a technician (else Forbidden)."""
    work_order = (
        workorder_visible_to(actor).select_related("service_type", "technician", "contract").filter(pk=work_order_id).first()
    )
    if work_order is None:
        raise NotFound(_("No such work order."))
    require(actor, "completion.complete")
    return work_order


def _check_in_progress(work_order: WorkOrder) -> None:
    if work_order.status != Status.IN_PROGRESS:
        raise Conflict(
            _("%(number)s cannot be completed: it is %(status)s.")
            % {"number": work_order.number, "status": str(Status(work_order.status).label).lower()},
            code="transition_not_allowed",
        )


@dataclass
class _CheckedReport:
    """A completion's input as checked before anything is stored or locked (``_check_report``)."""

    work_done: str
    answers: list[tuple[ChecklistItem, str, str]]
    custom: dict
    lines: list[PartLine]
    minutes: int
    signer_name: str
    needs_second_visit: bool
    second_visit_reason: str
    latitude: object
    longitude: object
    photos: list[CleanImage]
    custom_photos: dict[str, CleanImage]  # a photo field's key → its photo
    signature: CleanImage | None  # None: none given where the flow does not ask for one
    charges: Charges
    coverage_reason: str


def _check_report(work_order: WorkOrder, *, work_done, labour_minutes, signer_name, signature, checklist, parts,
                  photos, needs_second_visit, second_visit_reason, latitude, longitude, custom) -> _CheckedReport:
    """``completion_submit``'s report checked against the order's service type, or InvalidInput."""
    work_done = (work_done or "").strip()
    if not work_done:
        raise _invalid("work_done", _("Describe the work done."))
    if len(work_done) > WORK_DONE_MAX:
        raise _invalid("work_done", _("Keep the description under %(n)d characters.") % {"n": WORK_DONE_MAX})
    items = list(ChecklistItem.objects.filter(service_type_id=work_order.service_type_id, active=True))
    answers = _check_checklist(items, checklist or {})
    custom = custom_values_clean(fields=custom_fields_for(work_order.service_type_id, CustomField.Stage.COMPLETION),
                                 values=custom or {})
    lines = _check_parts(parts)
    minutes = _check_labour(labour_minutes)
    signer_name = (signer_name or "").strip()  # required with a signature (_check_flow_steps)
    if len(signer_name) > 120:
        raise _invalid("signer_name", _("Keep the name under 120 characters."))
    second_visit_reason = (second_visit_reason or "").strip()
    if needs_second_visit and not second_visit_reason:
        raise _invalid("second_visit_reason", _("Say why a second visit is needed."))
    if len(second_visit_reason) > 500:
        raise _invalid("second_visit_reason", _("Keep the reason under 500 characters."))
    lat, lng = position_check(latitude, longitude)
    # Images are decoded and re-encoded before the row lock is taken.
    clean_photos = _check_photos(list(photos))
    # The photo fields' uploads (a before-photo...), checked as the other photos are.
    custom_photos = {key: _check_photos([value if isinstance(value, PhotoUpload) else PhotoUpload(value)])[0]
                     for key, value in custom.items() if hasattr(value, "read") or hasattr(value, "file")}
    clean_signature = _check_flow_steps(work_order, signature=signature, signer_name=signer_name,
                                        photo_count=len(clean_photos) + len(custom_photos))
    charges = completion_charges(service_type=work_order.service_type, labour_minutes=minutes, lines=lines,
                                 covered_percent=work_order.coverage_percent)
    return _CheckedReport(
        work_done=work_done, answers=answers, custom=custom, lines=lines, minutes=minutes, signer_name=signer_name,
        needs_second_visit=bool(needs_second_visit), second_visit_reason=second_visit_reason,
        latitude=lat, longitude=lng, photos=clean_photos, custom_photos=custom_photos, signature=clean_signature,
        charges=charges, coverage_reason=work_order.coverage_reason[:200],
    )


@dataclass
class _StoredFiles:
    """A report's files, in the file store; their rows are saved in the transaction (``_save_report``)."""

    signature: Attachment | None
    field_photos: dict[str, tuple[Attachment, CleanImage]]  # a photo field's key → its photo
    photos: list[tuple[Attachment, CleanImage]]  # all the report's photos, the photo fields' first

    def stored(self) -> list:
        signed = [self.signature.file] if self.signature else []
        return signed + [attachment.file for attachment, _clean in self.photos]


def _store_files(work_order: WorkOrder, checked: _CheckedReport) -> _StoredFiles:
    # The signature and the photos go to the file store before the order is locked, all or none
    # (the storage name comes from attachment_path, which reads the content type): a store that
    # does not answer refuses the completion with a message, and nothing is written. Should the
    # transaction then fail, the stored files are deleted again.
    signature_file = checked.signature and _attachment(work_order, checked.signature, Attachment.Kind.SIGNATURE)
    signed = [(signature_file.file, checked.signature.content)] if signature_file else []
    field_photo_files = {key: (_attachment(work_order, clean, Attachment.Kind.ONSITE_PHOTO), clean)
                         for key, clean in checked.custom_photos.items()}
    photo_files = [(_attachment(work_order, clean, Attachment.Kind.ONSITE_PHOTO), clean) for clean in checked.photos]
    photo_files = list(field_photo_files.values()) + photo_files
    save_files(signed + [(attachment.file, clean.content) for attachment, clean in photo_files])
    return _StoredFiles(signature=signature_file, field_photos=field_photo_files, photos=photo_files)


def _save_report(work_order: WorkOrder, *, actor, technician, submission_key: uuid.UUID, checked: _CheckedReport,
                 files: _StoredFiles, now) -> CompletionReport:
    """The report's row with its costs, after its signature's and photo fields' attachment rows."""
    costs = job_costs(technician=technician, labour_minutes=checked.minutes,
                      travel_minutes=travel_minutes(work_order.pk, until=now), lines=checked.lines)
    if files.signature:
        files.signature.save()
    for key, (attachment, _clean) in files.field_photos.items():
        attachment.save()
        checked.custom[key] = attachment.pk  # the report keeps the photo's attachment id
    charges = checked.charges
    return CompletionReport.objects.create(
        work_order=work_order,
        technician=technician,
        submitted_by=actor,
        submission_key=submission_key,
        work_done=checked.work_done,
        labour_minutes=checked.minutes,
        labour_rate=charges.labour_rate,
        callout_fee=charges.callout_fee,
        labour_amount=charges.labour_amount,
        parts_amount=charges.parts_amount,
        covered_amount=charges.covered,
        coverage_reason=checked.coverage_reason,
        total_amount=charges.total,
        parts_cost=costs.parts,
        labour_cost=costs.labour,
        travel_minutes=costs.travel_minutes,
        travel_cost=costs.travel,
        signer_name=checked.signer_name,
        signature=files.signature,
        signed_at=now,
        latitude=checked.latitude,
        longitude=checked.longitude,
        needs_second_visit=checked.needs_second_visit,
        second_visit_reason=checked.second_visit_reason if checked.needs_second_visit else "",
        custom=checked.custom,
        created_at=now,
    )


def _save_report_lines(report: CompletionReport, *, actor, checked: _CheckedReport, files: _StoredFiles, now) -> None:
    """What hangs off the report: the checklist answers, the parts used (and the stock they come
    from), the photos, and the second visit's order when one is needed."""
    work_order = report.work_order
    lines = checked.lines
    ChecklistAnswer.objects.bulk_create(
        ChecklistAnswer(report=report, item=item, item_text=item.text, mandatory=item.mandatory,
                        answer=answer, note=note)
        for item, answer, note in checked.answers
    )
    PartUsage.objects.bulk_create(
        PartUsage(report=report, part=line.part, part_number=line.part.part_number, name=line.part.name,
                  unit=line.part.unit, quantity=line.quantity, unit_price=line.part.unit_price,
                  amount=line.amount, unit_cost=line.part.unit_cost)
        for line in lines
    )
    # What the order held becomes use, the rest is released; parts beyond the reservation
    # come from the van, or the completion is refused (inventory/services.py; two statements).
    stock_use_for_completion(work_order_id=work_order.pk, technician_id=work_order.technician_id,
                             lines=[(line.part, line.quantity) for line in lines], actor=actor, now=now)
    notifications_add(parts_used_webhooks(work_order, report_id=report.pk, now=now, lines=[
        {"part_id": line.part.pk, "part_number": line.part.part_number, "name": line.part.name,
         "unit": line.part.unit, "quantity": format(line.quantity.normalize(), "f")}
        for line in lines
    ]))
    # All the photos' rows in two statements, whatever their number (PostgreSQL hands back the
    # attachments' ids); the photo fields' attachments were saved with the report.
    Attachment.objects.bulk_create([attachment for attachment, _clean in files.photos if attachment.pk is None])
    ReportPhoto.objects.bulk_create([
        ReportPhoto(report=report, attachment=attachment, latitude=clean.latitude, longitude=clean.longitude,
                    taken_at=clean.taken_at)
        for attachment, clean in files.photos
    ])
    if checked.needs_second_visit:
        report.follow_up_work_order = _second_visit(work_order, actor=actor, reason=checked.second_visit_reason)
        report.save(update_fields=["follow_up_work_order"])


def _second_visit(work_order: WorkOrder, *, actor, reason: str) -> WorkOrder:
    """A new work order for the same customer, site and equipment, linked to this one."""
    intro = _("Second visit for %(number)s: %(reason)s") % {"number": work_order.number, "reason": reason}
    description = f"{intro}\n\n{work_order.description}"[:4000]
    follow_up, _created = workorder_create(
        channel=work_order.channel,
        contact_name=work_order.contact_name,
        contact_phone=work_order.contact_phone,
        contact_email=work_order.contact_email,
        address=work_order.address,
        service_type=work_order.service_type,
        description=description,
        priority=work_order.priority,
        language=work_order.language,
        created_by=actor,
        actor_role=_field_role(actor),
        customer=work_order.customer,
        site=work_order.site,
        equipment=work_order.equipment,
    )
    return follow_up


# --- review ------------------------------------------------------------------


def _review_event(report: CompletionReport, *, action: str, actor, role: str, note: str):
    work_order = report.work_order
    WorkOrderEvent.objects.create(
        work_order=work_order,
        action=action,
        from_status=work_order.status,
        to_status=work_order.status,
        actor=actor,
        actor_role=role,
        note=note,
        data={"report": report.pk},
    )


APPROVE = "approve"
SEND_BACK = "send_back"


def completion_review(*, report_id: int, actor, decision: str, comment: str = "") -> CompletionReport:
    """A manager approves a report or sends it back to the technician with a comment.

    Approving the report of a service type that asks for a review moves the
    resolved work order on to follow-up (the survey).
    """
    require(actor, "completion.review")
    if decision not in (APPROVE, SEND_BACK):
        raise _invalid("decision", _("Choose approve or send back."))
    comment = (comment or "").strip()
    if decision == SEND_BACK and not comment:
        raise _invalid("comment", _("Say what needs changing when sending a report back."))
    if len(comment) > 2000:
        raise _invalid("comment", _("Keep the comment under 2000 characters."))
    with transaction.atomic():
        # Locked so that two managers reviewing at once give one decision.
        report = CompletionReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound(_("No such completion report."))
        if report.review_status != CompletionReport.Review.PENDING:
            raise Conflict(
                _("This report was already reviewed (%(status)s).")
                % {"status": str(report.get_review_status_display()).lower()},
                code="already_reviewed",
            )
        report = CompletionReport.objects.select_related("work_order__service_type").get(pk=report.pk)
        report.review_status = (
            CompletionReport.Review.APPROVED if decision == APPROVE else CompletionReport.Review.SENT_BACK
        )
        report.review_comment = comment
        report.reviewed_by = actor
        report.reviewed_at = timezone.now()
        report.save(update_fields=["review_status", "review_comment", "reviewed_by", "reviewed_at"])
        _review_event(report, action=f"report_{report.review_status}", actor=actor, role=R.MANAGER, note=comment)
        work_order = report.work_order
        if decision == APPROVE and work_order.status == Status.RESOLVED:
            # A resolved order waits only for this approval (a review, or parts approval: the service
            # type's flow, as it was when the report was sent): it moves on now, to follow-up (the
            # survey, workorders/survey.py) or, where the flow has none, closed.
            report.work_order = workorder_move_on(work_order_id=work_order.pk, actor=actor, actor_role=R.MANAGER,
                                                  flow=flow_for(work_order.service_type_id))
    return report


def completion_revise(*, report_id: int, actor, reply: str, work_done: str = "") -> CompletionReport:
    """The technician answers a report sent back: a reply (and corrected work notes); it awaits review again."""
    reply = (reply or "").strip()
    if not reply:
        raise _invalid("reply", _("Write what you changed or your answer to the comment."))
    if len(reply) > 2000:
        raise _invalid("reply", _("Keep the reply under 2000 characters."))
    work_done = (work_done or "").strip()
    if len(work_done) > WORK_DONE_MAX:
        raise _invalid("work_done", _("Keep the description under %(n)d characters.") % {"n": WORK_DONE_MAX})
    require(actor, "completion.revise")
    with transaction.atomic():
        report = (
            CompletionReport.objects.select_for_update()
            .filter(pk=report_id, work_order__in=workorder_visible_to(actor))
            .first()
        )
        if report is None:
            raise NotFound(_("No such completion report."))
        if report.review_status != CompletionReport.Review.SENT_BACK:
            raise Conflict(_("Only a report sent back can be revised."), code="not_sent_back")
        report.revision_note = reply
        if work_done:
            report.work_done = work_done
        report.revised_at = timezone.now()
        report.review_status = CompletionReport.Review.PENDING
        report.save(update_fields=["revision_note", "work_done", "revised_at", "review_status"])
        report = CompletionReport.objects.select_related("work_order").get(pk=report.pk)
        _review_event(report, action="report_revised", actor=actor, role=_field_role(actor), note=reply)
    return report
