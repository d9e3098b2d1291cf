"""Tables as CSV or XLSX downloads that a spreadsheet opens as data, never as formulas.

Text in an export can come from people outside the office (a partner company's name, a
customer's words). A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-``
or ``@`` as a formula (``=HYPERLINK(...)`` sends data elsewhere when clicked), and some
treat a leading tab or carriage return the same way. So every export goes through here:

- CSV: such a text cell is written with an apostrophe in front, which spreadsheets read as
  "this is text" and do not show. Numbers stay numbers (a negative figure is not text).
- XLSX: every text is written as a text cell (with the "quote prefix" style, so that editing
  it later keeps it text), never as a formula.
"""

import csv
import io

from django.http import HttpResponse
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")

# What makes a spreadsheet read a text cell as a formula; the full-width forms too, which a
# Chinese input method types and which some spreadsheet programs take for the ASCII ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def is_formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value):
    """One cell for a CSV file: empty for None, text that could run as a formula prefixed with ``'``."""
    if value is None:
        return ""
    if is_formula_like(value):
        return "'" + value
    return value


def csv_bytes(head: list, rows) -> bytes:
    buffer = io.StringIO()
    # A byte-order mark so that Excel reads Chinese text as UTF-8.
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(v) for v in head])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def _xlsx_cell(sheet, value):
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        # Characters XLSX cannot hold (control characters) would make openpyxl refuse the file.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = WriteOnlyCell(sheet, value=value)
        # Always text: openpyxl would store a string starting with "=" as a formula.
        cell.data_type = "s"
        if is_formula_like(value):
            cell.quotePrefix = True
        return cell
    return value


def xlsx_bytes(title: str, head: list, rows) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    # A sheet title may not hold []:*?/\ and is at most 31 characters.
    sheet = workbook.create_sheet(title="".join(c for c in title if c not in "[]:*?/\\")[:31] or "Sheet")
    sheet.append([_xlsx_cell(sheet, v) for v in head])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_response(fmt: str, *, filename: str, title: str, head: list, rows) -> HttpResponse:
    """A download of ``head`` and ``rows`` as ``fmt`` (``csv`` or ``xlsx``), named ``filename``."""
    if fmt == "csv":
        response = HttpResponse(csv_bytes(head, rows), content_type=CSV_CONTENT_TYPE)
    elif fmt == "xlsx":
        response = HttpResponse(xlsx_bytes(title, head, rows), content_type=XLSX_CONTENT_TYPE)
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
