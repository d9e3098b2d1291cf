"""The service report as a PDF (ReportLab).

Chinese text uses ReportLab's built-in CID font STSong-Light: PDF readers bring
the glyphs, so no font file ships with the project.
"""

import io

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from catalog.custom_fields import custom_values_shown
from catalog.models import CustomField
from catalog.selectors import custom_fields_of
from catalog.units import unit_label

from .models import CompletionReport

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def _styles():
    font = _font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=16, leading=21, spaceAfter=2 * mm),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=12, leading=16, spaceBefore=4 * mm, spaceAfter=1.5 * mm),
        "body": ParagraphStyle("body", fontName=font, fontSize=10, leading=14),
        "small": ParagraphStyle("small", fontName=font, fontSize=8.5, leading=11, textColor=colors.grey),
    }


def _p(text, style) -> Paragraph:
    return Paragraph(escape(str(text if text is not None else "")).replace("\n", "<br/>"), style)


def _when(value) -> str:
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else ""


def _table(rows, widths, styles, *, header=True) -> Table:
    table = Table([[_p(cell, styles["body"]) for cell in row] for row in rows], colWidths=widths, hAlign="LEFT")
    commands = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f4")))
    table.setStyle(TableStyle(commands))
    return table


def _image(attachment, max_width, max_height):
    """A flowable of an attachment's image scaled to fit, or None if it cannot be read."""
    try:
        with attachment.file.open("rb") as handle:
            data = io.BytesIO(handle.read())
        width, height = ImageReader(data).getSize()
    except (OSError, ValueError):
        return None
    scale = min(max_width / width, max_height / height, 1.0)
    data.seek(0)
    return Image(data, width=width * scale, height=height * scale, hAlign="LEFT")


def _money(value) -> str:
    return f"¥{value:,.2f}"


def service_report_pdf(report: CompletionReport, *, for_customer: bool = False, problem: str | None = None) -> bytes:
    """The PDF of one completion report: company, work order, customer, work done, checklist, parts,
    charges, photos, signature and technician.

    ``for_customer``: the copy behind the tracking link, without the technician's notes for the
    office (checklist notes, the reason for a second visit); ``problem`` is then what the customer
    asked for in their own words (a second visit's description opens with the technician's reason).
    """
    styles = _styles()
    wo = report.work_order
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm, bottomMargin=14 * mm,
        title=f"{_('Service report')} {wo.number}", author=settings.COMPANY_NAME,
    )
    width = doc.width
    story = [
        _p(settings.COMPANY_NAME, styles["title"]),
        _p(f"{_('Service report')} · {wo.number}", styles["h2"]),
    ]
    customer = wo.customer
    facts = [
        (_("Work order"), wo.number),
        (_("Service type"), wo.service_type.name),
        (_("Customer"), f"{wo.contact_name or customer.name}  {wo.contact_phone}"),
        (_("Address"), wo.address),
    ]
    if wo.equipment_id:
        facts.append((_("Equipment"), str(wo.equipment)))
    facts += [
        (_("Technician"), str(report.technician)),
        (_("Arrived"), _when(wo.arrived_at)),
        (_("Completed"), _when(report.created_at)),
    ]
    story.append(_table(facts, [32 * mm, width - 32 * mm], styles, header=False))

    story += [_p(_("Problem reported"), styles["h2"]), _p(wo.description if problem is None else problem, styles["body"])]
    story += [_p(_("Work done"), styles["h2"]), _p(report.work_done, styles["body"])]
    if report.needs_second_visit:
        if for_customer:
            text = _("A second visit is needed; we will arrange it with you.")
        else:
            text = _("A second visit is needed: %(reason)s") % {"reason": report.second_visit_reason}
        if report.follow_up_work_order_id:
            text += f" ({report.follow_up_work_order.number})"
        story.append(_p(text, styles["body"]))

    # The service type's custom fields: what intake asked, then what the technician recorded.
    fields = custom_fields_of(wo.service_type_id)
    details = custom_values_shown(fields, wo.custom) + custom_values_shown(fields, report.custom)
    if details:
        story.append(_p(_("Service details"), styles["h2"]))
        story.append(_table(details, [width * 0.35, width * 0.65], styles, header=False))
    # A photo field's photo is one of the report's photos: captioned with the field's label.
    photo_labels = {report.custom.get(f.key): f.label for f in fields if f.kind == CustomField.Kind.PHOTO}

    answers = list(report.answers.all())
    if answers:
        story.append(_p(_("Checklist"), styles["h2"]))
        if for_customer:
            rows = [(_("Item"), _("Answer"))] + [(a.item_text, a.get_answer_display()) for a in answers]
            story.append(_table(rows, [width * 0.7, width * 0.3], styles))
        else:
            rows = [(_("Item"), _("Answer"), _("Note"))]
            rows += [(a.item_text, a.get_answer_display(), a.note) for a in answers]
            story.append(_table(rows, [width * 0.5, width * 0.2, width * 0.3], styles))

    parts = list(report.parts.all())
    story.append(_p(_("Parts used"), styles["h2"]))
    if parts:
        rows = [(_("Part number"), _("Part"), _("Quantity"), _("Unit price"), _("Amount"))]
        rows += [
            (p.part_number, p.name, f"{p.quantity.normalize():f} {unit_label(p.unit)}", _money(p.unit_price), _money(p.amount))
            for p in parts
        ]
        story.append(_table(rows, [width * 0.18, width * 0.34, width * 0.16, width * 0.16, width * 0.16], styles))
    else:
        story.append(_p(_("No parts used."), styles["body"]))

    story.append(_p(_("Charges"), styles["h2"]))
    hours = _("%(minutes)d min at %(rate)s per hour") % {
        "minutes": report.labour_minutes, "rate": _money(report.labour_rate)}
    charges = [
        (_("Call-out fee"), "", _money(report.callout_fee)),
        (_("Labour"), hours, _money(report.labour_amount)),
        (_("Parts"), "", _money(report.parts_amount)),
    ]
    if report.covered_amount or report.coverage_reason:
        # The reason in the reader's language from the order's kept coverage; as stored otherwise.
        reason = wo.coverage_reason or report.coverage_reason
        charges.append((_("Covered"), reason, "-" + _money(report.covered_amount)))
    charges.append((_("Total"), "", _money(report.total_amount)))
    table = _table(charges, [width * 0.3, width * 0.45, width * 0.25], styles, header=False)
    table.setStyle(TableStyle([("LINEABOVE", (0, len(charges) - 1), (-1, len(charges) - 1), 0.8, colors.black)]))
    story.append(table)

    photos = [photo for photo in report.photos.all()]
    if photos:
        story.append(_p(_("On-site photos"), styles["h2"]))
        cells = []
        for photo in photos:
            image = _image(photo.attachment, width / 2 - 4 * mm, 70 * mm)
            if image is None:
                continue
            caption = _when(photo.taken_at)
            if photo.latitude is not None:
                caption = f"{caption}  {photo.latitude}, {photo.longitude}".strip()
            if photo.attachment_id in photo_labels:
                caption = f"{photo_labels[photo.attachment_id]}  {caption}".strip()
            cells.append([image, _p(caption, styles["small"])])
        grid = [cells[i:i + 2] for i in range(0, len(cells), 2)]
        if grid:
            if len(grid[-1]) == 1:
                grid[-1].append("")
            table = Table(grid, colWidths=[width / 2, width / 2], hAlign="LEFT")
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story.append(table)

    if report.signature_id is not None:  # none where the service type's flow asks for none
        story.append(_p(_("Customer's signature"), styles["h2"]))
        signature = _image(report.signature, 70 * mm, 30 * mm)
        if signature is not None:
            story.append(signature)
        story += [
            Spacer(1, 2 * mm),
            _p(_("Signed by %(name)s on %(when)s") % {"name": report.signer_name, "when": _when(report.signed_at)},
               styles["body"]),
        ]
    story += [
        Spacer(1, 6 * mm),
        _p(_("Technician: %(name)s") % {"name": report.technician}, styles["body"]),
        _p(f"{settings.COMPANY_NAME} · {wo.number} · {_('printed')} {_when(timezone.now())}", styles["small"]),
    ]
    doc.build(story)
    return buffer.getvalue()
