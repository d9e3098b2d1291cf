"""Importing the parts list from a file, matched on the part number."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Part
from catalog.resources import PartResource
from core.imports import SniffedCSV

pytestmark = pytest.mark.django_db

PARTS = "/admin/catalog/part/"


def upload(client, content):
    return client.post(PARTS + "import/", {"import_file": SimpleUploadedFile("parts.csv", content.encode()), "format": "0"})


def confirm(client, preview):
    form = preview.context["confirm_form"]
    data = {name: form.initial[name] for name in ("import_file_name", "original_file_name", "format")}
    return client.post(PARTS + "process_import/", {**data, "resource": ""})


def test_parts_import_and_update_only_what_changed(client, manager):
    client.force_login(manager)
    content = "part_number,name,unit,unit_price,active\nP-1,空调滤网,pcs,35.00,yes\nP-2,R32 冷媒,kg,\"1,200.50\",no\n"
    confirm(client, upload(client, content))
    assert Part.objects.get(part_number="P-2").unit_price == 1200.50
    assert Part.objects.get(part_number="P-2").active is False
    preview = upload(client, content.replace("35.00", "38.00"))
    assert "0 to create, 1 to update, 1 unchanged" in preview.content.decode()
    confirm(client, preview)
    assert Part.objects.get(part_number="P-1").unit_price == 38


def test_bad_prices_are_refused_and_nothing_is_written(client, manager):
    client.force_login(manager)
    content = "part_number,name,unit_price\nP-1,A,-5\nP-2,B,abc\nP-3,C,1.234\nP-4,D,=1+1\nP-5,E,10\n"
    preview = upload(client, content)
    bad = {(row.number + 1, column) for row in preview.context["result"].invalid_rows for column in row.field_specific_errors}
    assert bad == {(2, "unit_price"), (3, "unit_price"), (4, "unit_price"), (5, "unit_price")}
    assert Part.objects.count() == 0


def test_an_agent_cannot_import_parts(client, agent):
    client.force_login(agent)
    assert client.get(PARTS + "import/").status_code == 403


def test_the_sample_parts_list_imports_cleanly():
    data = (Path(settings.BASE_DIR) / "docs" / "samples" / "parts.csv").read_bytes()
    result = PartResource().import_data(SniffedCSV().create_dataset(data))
    assert not result.has_errors() and not result.has_validation_errors()
    assert Part.objects.count() == result.totals["new"] == 96


def test_an_xlsx_that_would_unpack_beyond_the_limit_is_refused_before_it_is_read(client, manager, settings):
    import io
    import zipfile

    settings.IMPORT_MAX_UNPACKED_BYTES = 1024 * 1024
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (3 * 1024 * 1024))  # 3 MB in a few kB
    client.force_login(manager)
    response = client.post(PARTS + "import/", {
        "import_file": SimpleUploadedFile("parts.xlsx", buffer.getvalue()), "format": "1"})
    assert buffer.tell() < 50_000
    assert "unpacks to 3.0" in response.content.decode()
    assert "confirm_form" not in response.context
    assert Part.objects.count() == 0


def test_unit_costs_import_and_a_file_without_the_column_keeps_them(client, manager):
    client.force_login(manager)
    preview = upload(client, "part_number,name,unit_price,unit_cost\nP-1,Filter,35.00,19.50\nP-2,Valve,80,-1\n")
    bad = {(row.number + 1, column) for row in preview.context["result"].invalid_rows for column in row.field_specific_errors}
    assert bad == {(3, "unit_cost")}
    assert Part.objects.count() == 0
    confirm(client, upload(client, "part_number,name,unit_price,unit_cost\nP-1,Filter,35.00,19.50\n"))
    assert Part.objects.get(part_number="P-1").unit_cost == Decimal("19.50")
    confirm(client, upload(client, "part_number,name,unit_price\nP-1,Filter,36.00\n"))
    part = Part.objects.get(part_number="P-1")
    assert (part.unit_price, part.unit_cost) == (Decimal("36.00"), Decimal("19.50"))


def test_an_empty_unit_cost_cell_keeps_the_cost_on_file_and_is_zero_for_a_new_part(client, manager):
    client.force_login(manager)
    confirm(client, upload(client, "part_number,name,unit_price,unit_cost\nP-1,Filter,35.00,19.50\n"))
    confirm(client, upload(client, "part_number,name,unit_price,unit_cost\nP-1,Filter,37.00,\nP-2,Valve,80,\n"))
    assert Part.objects.get(part_number="P-1").unit_cost == Decimal("19.50")
    assert Part.objects.get(part_number="P-1").unit_price == Decimal("37.00")
    assert Part.objects.get(part_number="P-2").unit_cost == Decimal("0")
