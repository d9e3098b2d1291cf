"""QR labels for a site's equipment: an A4 sheet of 3 × 7 labels (70 × 42 mm) as PDF.

Each label carries a QR code of the equipment's request link (``intake:request-equipment`` with
the signed code of ``customers.qr``), the equipment, its serial number and the company's name.
The link starts with ``PUBLIC_BASE_URL``: a printed label outlives the request that printed it.
"""

import io

import segno
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from customers.qr import equipment_token

FONT = "STSong-Light"  # a CID font PDF readers bring: Chinese without a font file
COLUMNS, ROWS = 3, 7
LABEL_W, LABEL_H = 70 * mm, 42 * mm
QR_SIZE = 34 * mm


def equipment_request_url(equipment_id: int) -> str:
    path = reverse("intake:request-equipment", args=[equipment_token(equipment_id)])
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def _qr_image(url: str) -> ImageReader:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=6, border=2)
    buffer.seek(0)
    return ImageReader(buffer)


def _fit(text: str, size: float, width: float) -> str:
    while text and pdfmetrics.stringWidth(text, FONT, size) > width:
        text = text[:-2] + "…" if len(text) > 2 else ""
    return text


def labels_pdf(pieces, *, title: str) -> bytes:
    """One label per piece of equipment, in the order given, as many sheets as needed."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    page_w, page_h = A4
    left = (page_w - COLUMNS * LABEL_W) / 2
    top = page_h - (page_h - ROWS * LABEL_H) / 2
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(title)
    pdf.setAuthor(settings.COMPANY_NAME)
    per_page = COLUMNS * ROWS
    text_x = QR_SIZE + 5 * mm
    text_w = LABEL_W - text_x - 3 * mm
    for index, piece in enumerate(pieces):
        if index and index % per_page == 0:
            pdf.showPage()
        slot = index % per_page
        x = left + (slot % COLUMNS) * LABEL_W
        y = top - (slot // COLUMNS + 1) * LABEL_H
        pdf.setLineWidth(0.3)
        pdf.setDash(1, 2)
        pdf.rect(x, y, LABEL_W, LABEL_H)  # a cutting guide
        pdf.setDash()
        pdf.drawImage(_qr_image(equipment_request_url(piece.pk)), x + 2 * mm, y + (LABEL_H - QR_SIZE) / 2,
                      QR_SIZE, QR_SIZE)
        lines = [
            (8, _fit(settings.COMPANY_NAME, 8, text_w)),
            (9, _fit(f"{piece.brand} {piece.model}".strip(), 9, text_w)),
            (7, _fit(f"{_('serial number')} {piece.serial}", 7, text_w)),
            (7, _fit(_("Scan to request service"), 7, text_w)),
        ]
        line_y = y + LABEL_H - 9 * mm
        for size, text in lines:
            pdf.setFont(FONT, size)
            pdf.drawString(x + text_x, line_y, text)
            line_y -= size + 4
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
