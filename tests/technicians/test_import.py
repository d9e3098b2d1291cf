"""Importing technicians (skills and levels, partner company) and partner companies from files."""

import re
import zipfile
from io import BytesIO
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from core.imports import SniffedCSV
from technicians.models import PartnerCompany, Technician
from technicians.resources import PartnerCompanyResource, TechnicianResource
from tests.factories import PartnerCompanyFactory, SkillFactory, UserFactory

pytestmark = pytest.mark.django_db

TECHS = "/admin/technicians/technician/"
PARTNERS = "/admin/technicians/partnercompany/"


def upload(client, url, content, name="file.csv"):
    return client.post(url + "import/", {"import_file": SimpleUploadedFile(name, content.encode()), "format": "0"})


def confirm(client, url, preview):
    form = preview.context["confirm_form"]
    data = {name: form.initial[name] for name in ("import_file_name", "original_file_name", "format")}
    return client.post(url + "process_import/", {**data, "resource": form.initial.get("resource", "")})


def counts(preview) -> str:
    return preview.content.decode()


def bad(preview):
    return {(row.number + 1, column) for row in preview.context["result"].invalid_rows for column in row.field_specific_errors}


@pytest.fixture
def importer(client, manager):
    client.force_login(manager)
    SkillFactory(code="hvac")
    SkillFactory(code="electrical")
    return client


TECH_CSV = (
    "employee_number,username,name,phone,partner_company,skills,home_latitude,home_longitude,active\n"
    "T0001,zhangwei,张伟,138 1234 5678,,hvac:4;electrical:2,31.2,121.4,yes\n"
    "T0002,lina,李娜,139 0000 1111,安达制冷,hvac:3,31.1,121.5,是\n"
)


def test_technicians_import_with_logins_skills_and_partner_and_again_change_nothing(importer):
    PartnerCompanyFactory(name="安达制冷")
    preview = upload(importer, TECHS, TECH_CSV)
    assert "2 to create, 0 to update, 0 unchanged" in counts(preview)
    assert Technician.objects.count() == 0
    confirm(importer, TECHS, preview)

    zhang = Technician.objects.get(employee_number="T0001")
    assert (zhang.user.username, zhang.user.first_name, zhang.phone) == ("zhangwei", "张伟", "+8613812345678")
    assert {ts.skill.code: ts.level for ts in zhang.skill_levels.all()} == {"hvac": 4, "electrical": 2}
    assert not zhang.user.has_usable_password()
    assert list(zhang.user.groups.values_list("name", flat=True)) == ["technician"]
    li = Technician.objects.get(employee_number="T0002")
    assert li.partner_company.name == "安达制冷"
    assert list(li.user.groups.values_list("name", flat=True)) == ["partner_technician"]

    assert "0 to create, 0 to update, 2 unchanged" in counts(upload(importer, TECHS, TECH_CSV))

    edited = TECH_CSV.replace("hvac:4;electrical:2", "hvac:5")
    preview = upload(importer, TECHS, edited)
    assert "0 to create, 1 to update, 1 unchanged" in counts(preview)
    confirm(importer, TECHS, preview)
    assert {ts.skill.code: ts.level for ts in zhang.skill_levels.all()} == {"hvac": 5}


def test_bad_technician_rows_are_refused_with_line_and_column(importer):
    UserFactory(username="taken")
    content = (
        "employee_number,username,name,phone,partner_company,skills\n"
        "T1,taken,A,13812345678,,hvac:1\n"
        "T2,b,B,13812345679,No such partner,\n"
        "T3,c,C,13812345670,,plumbing:2\n"
        "T4,d,D,13812345671,,hvac:9\n"
        "T5,d,E,13812345672,,\n"
    )
    preview = upload(importer, TECHS, content)
    assert bad(preview) == {(2, "username"), (3, "partner_company"), (4, "skills"), (5, "skills"), (6, "username")}
    assert Technician.objects.count() == 0


def test_partner_companies_import_on_their_name(importer):
    content = "name,contact_phone,active\n上海安达制冷工程有限公司,021 5888 1234,yes\n北京冰峰机电,,no\n"
    confirm(importer, PARTNERS, upload(importer, PARTNERS, content))
    assert PartnerCompany.objects.get(name="北京冰峰机电").active is False
    assert PartnerCompany.objects.get(name="上海安达制冷工程有限公司").contact_phone == "+862158881234"
    assert "0 to create, 0 to update, 2 unchanged" in counts(upload(importer, PARTNERS, content))


def test_without_the_permission_technician_import_is_refused(client, dispatcher, manager):
    client.force_login(dispatcher)
    assert client.get(TECHS + "import/").status_code == 403
    manager.groups.get().permissions.remove(Permission.objects.get(codename="import_technician"))
    client.force_login(manager)
    assert client.get(TECHS + "import/").status_code == 403
    assert client.get(PARTNERS + "import/").status_code == 200


def test_the_sample_partner_companies_and_technicians_import_cleanly():
    samples = Path(settings.BASE_DIR) / "docs" / "samples"
    for code in ("aircon", "refrigeration", "laundry", "plumbing", "electrical", "gas", "kitchen", "installation"):
        SkillFactory(code=code)
    for resource, name in ((PartnerCompanyResource(), "partner-companies.csv"), (TechnicianResource(), "technicians.csv")):
        result = resource.import_data(SniffedCSV().create_dataset((samples / name).read_bytes()))
        assert not result.has_errors() and not result.has_validation_errors(), [r.error_dict for r in result.invalid_rows][:3]
    assert Technician.objects.filter(active=True).count() == 150
    assert Technician.objects.filter(partner_company__isnull=False).exists()
    # Every home address is placed (a district's centre), or its given point kept: all have a home base.
    from technicians.services import technicians_geocode_pending

    located = technicians_geocode_pending()
    assert located["exact"] == 15 and sum(located.values()) == 150, located
    assert not Technician.objects.filter(home_latitude__isnull=True).exists()


def test_the_sample_technicians_with_errors_name_each_bad_row_and_import_nothing():
    samples = Path(settings.BASE_DIR) / "docs" / "samples"
    for code in ("aircon", "refrigeration", "laundry", "plumbing", "electrical", "gas", "kitchen", "installation"):
        SkillFactory(code=code)
    PartnerCompanyResource().import_data(SniffedCSV().create_dataset((samples / "partner-companies.csv").read_bytes()))
    dataset = SniffedCSV().create_dataset((samples / "technicians-with-errors.csv").read_bytes())
    result = TechnicianResource().import_data(dataset, rollback_on_validation_errors=True)
    bad = {(row.number + 1, column) for row in result.invalid_rows for column in row.field_specific_errors}
    assert bad == {
        (3, "skills"), (5, "skills"), (7, "working_hours"), (8, "partner_company"), (10, "username"),
        (11, "phone"), (12, "home_latitude"),
    }
    assert Technician.objects.count() == 0


def weekly(technician) -> list[tuple]:
    return sorted(technician.shifts.filter(date__isnull=True).values_list("weekday", "start", "end"))


def test_working_hours_become_the_weekly_shifts_and_leave_dated_ones_alone(importer):
    import datetime as dt

    from technicians.models import Shift

    content = ("employee_number,username,name,phone,working_hours\n"
               'T0001,zhangwei,张伟,13812345678,"mon-fri 09:00-12:00,13:00-18:00;sat 09:00-12:00"\n'
               "T0002,lina,李娜,13900001111,周一至周三 08:00-17:00；周日 10:00-16:00\n")
    confirm(importer, TECHS, upload(importer, TECHS, content))
    zhang = Technician.objects.get(employee_number="T0001")
    assert len(weekly(zhang)) == 11 and (5, dt.time(9), dt.time(12)) in weekly(zhang)
    lina = Technician.objects.get(employee_number="T0002")
    assert [day for day, _s, _e in weekly(lina)] == [0, 1, 2, 6]
    leave = Shift.objects.create(technician=lina, date=dt.date(2027, 1, 4), available=False)

    preview = upload(importer, TECHS, content)
    assert "0 to create, 0 to update, 2 unchanged" in counts(preview)
    preview = upload(importer, TECHS, content.replace("周日 10:00-16:00", "周六 10:00-16:00"))
    assert "0 to create, 1 to update, 1 unchanged" in counts(preview)
    confirm(importer, TECHS, preview)
    assert [day for day, _s, _e in weekly(lina)] == [0, 1, 2, 5]
    assert Shift.objects.filter(pk=leave.pk).exists()  # an absence on a date is not part of the week

    exported = TechnicianResource().export()
    rows = {r[0]: dict(zip(exported.headers, r)) for r in exported}
    assert rows["T0001"]["working_hours"] == "mon-fri 09:00-12:00,13:00-18:00;sat 09:00-12:00"
    assert rows["T0002"]["working_hours"] == "mon-wed 08:00-17:00;sat 10:00-16:00"


def test_bad_working_hours_are_refused_with_the_line_and_nothing_is_written(importer):
    content = ("employee_number,username,name,phone,working_hours\n"
               "T0001,a1,A,13812345678,mon-fri 09:00-18:00\n"
               "T0002,a2,B,13812345679,someday 09:00-18:00\n"
               "T0003,a3,C,13812345670,mon 18:00-09:00\n"
               'T0004,a4,D,13812345671,"mon 09:00-13:00,12:00-18:00"\n'
               "T0005,a5,E,13812345672,mon 9-18\n")
    preview = upload(importer, TECHS, content)
    assert bad(preview) == {(3, "working_hours"), (4, "working_hours"), (5, "working_hours"), (6, "working_hours")}
    assert Technician.objects.count() == 0


HOME_CSV = (
    "employee_number,username,name,phone,home_address,home_latitude,home_longitude\n"
    "T0101,wangqiang,王强,138 1234 5601,上海市浦东新区张江路100号,,\n"
    "T0102,zhaomin,赵敏,138 1234 5602,杭州市西湖区文三路90号,121.43,31.19\n"
    "T0103,sunli,孙丽,138 1234 5603,,,\n"
)


def test_a_home_address_is_geocoded_after_the_import_into_the_home_base_dispatch_uses(importer):
    from dispatch.selectors import technician_facts_for_check
    from technicians.services import technicians_geocode_pending

    confirm(importer, TECHS, upload(importer, TECHS, HOME_CSV))
    wang, zhao, sun = (Technician.objects.get(employee_number=n) for n in ("T0101", "T0102", "T0103"))
    # Nothing is geocoded on the request: all three wait for the worker.
    assert {t.home_precision for t in (wang, zhao, sun)} == {"pending"}
    assert wang.home_address == "上海市浦东新区张江路100号" and wang.home_latitude is None

    assert technicians_geocode_pending() == {"district": 1, "exact": 1, "unknown": 1}
    wang.refresh_from_db(), zhao.refresh_from_db(), sun.refresh_from_db()
    # Pudong's centre; typed coordinates (given the wrong way round) kept as exact; no address, no point.
    assert (wang.home_precision, round(float(wang.home_latitude)), round(float(wang.home_longitude))) == (
        "district", 31, 122)
    assert (zhao.home_precision, float(zhao.home_latitude), float(zhao.home_longitude)) == ("exact", 31.19, 121.43)
    assert (sun.home_precision, sun.home_latitude) == ("unknown", None)
    # Dispatch measures travel from there.
    home = technician_facts_for_check(wang, days=[], need_skills=False).home
    assert home == (float(wang.home_latitude), float(wang.home_longitude))

    # The same file again changes nothing (the geocoded point stays).
    assert "0 to create, 0 to update, 3 unchanged" in counts(upload(importer, TECHS, HOME_CSV))

    # A new address is geocoded again; its old point is dropped until then.
    moved = HOME_CSV.replace("上海市浦东新区张江路100号", "北京市朝阳区建国路88号")
    preview = upload(importer, TECHS, moved)
    assert "0 to create, 1 to update, 2 unchanged" in counts(preview)
    confirm(importer, TECHS, preview)
    wang.refresh_from_db()
    assert (wang.home_precision, wang.home_latitude) == ("pending", None)
    technicians_geocode_pending()
    wang.refresh_from_db()
    assert (wang.home_precision, round(float(wang.home_latitude))) == ("district", 40)


def test_the_technician_export_has_the_home_address(importer):
    confirm(importer, TECHS, upload(importer, TECHS, HOME_CSV))
    rows = TechnicianResource().export().dict
    assert {r["employee_number"]: r["home_address"] for r in rows}["T0101"] == "上海市浦东新区张江路100号"


def test_a_home_address_edited_in_the_admin_is_located_again(admin_client):
    from technicians.services import technicians_geocode_pending

    tech = Technician.objects.create(
        user=UserFactory(username="wu"), phone="+8613812345600", home_address="上海市浦东新区张江路100号",
        home_latitude=31.2, home_longitude=121.5, home_precision="exact",
    )
    form = {
        "user": tech.user_id, "employee_number": "", "phone": "138 1234 5600", "partner_company": "",
        "home_address": "北京市朝阳区建国路88号", "home_latitude": "31.200000", "home_longitude": "121.500000",
        "active": "on", "external_ref": "", "location_consent": "unknown",
        **{f"{prefix}-{key}": value for prefix in ("skill_levels", "shifts")
           for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"), ("MIN_NUM_FORMS", "0"),
                              ("MAX_NUM_FORMS", "1000"))},
    }
    page = admin_client.post(f"{TECHS}{tech.pk}/change/", form)
    assert page.status_code == 302, page.context["adminform"].form.errors if page.context else page
    tech.refresh_from_db()
    # The old address's point is dropped until the worker places the new address (Chaoyang, Beijing).
    assert (tech.home_precision, tech.home_latitude) == ("pending", None)
    assert technicians_geocode_pending() == {"district": 1}
    tech.refresh_from_db()
    assert round(float(tech.home_latitude)) == 40


def test_coordinates_typed_while_the_address_is_geocoded_are_kept(monkeypatch):
    from technicians import services

    tech = Technician.objects.create(
        user=UserFactory(username="qian"), phone="+8613812345601", home_address="上海市浦东新区张江路100号",
        home_precision="pending",
    )
    real = services.geocode_many

    def admin_types_a_point_meanwhile(addresses):
        # The admin types exact coordinates; the address is the same and the technician still pending.
        Technician.objects.filter(pk=tech.pk).update(home_latitude="31.211111", home_longitude="121.611111")
        return real(addresses)

    monkeypatch.setattr(services, "geocode_many", admin_types_a_point_meanwhile)
    assert services.technicians_locate(technician_ids=[tech.pk]) == {}
    tech.refresh_from_db()
    # The district centre found for the address does not overwrite the typed point; the next round keeps it.
    assert (float(tech.home_latitude), float(tech.home_longitude), tech.home_precision) == (31.211111, 121.611111, "pending")
    monkeypatch.setattr(services, "geocode_many", real)
    assert services.technicians_geocode_pending() == {"exact": 1}
    tech.refresh_from_db()
    assert (float(tech.home_latitude), float(tech.home_longitude), tech.home_precision) == (31.211111, 121.611111, "exact")


def xlsx(rows, *, numbers_as_floats=False) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = BytesIO()
    book.save(buffer)
    if not numbers_as_floats:
        return buffer.getvalue()
    # Spreadsheet programs may store a whole number as 1001.0, which is read back as a float.
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(buffer.getvalue())) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb"<v>(\d+)</v>", rb"<v>\1.0</v>", data)
            target.writestr(item, data)
    return out.getvalue()


def test_a_home_address_changed_in_an_xlsx_with_numeric_employee_numbers_is_geocoded_again(importer):
    from technicians.services import technicians_geocode_pending

    header = ["employee_number", "username", "name", "phone", "home_address", "home_latitude", "home_longitude"]

    def upload_xlsx(address):
        # The employee number is a number cell, read as 1001.0.
        content = xlsx([header, [1001, "zhouqi", "周琪", "138 1234 5609", address, None, None]],
                       numbers_as_floats=True)
        return importer.post(TECHS + "import/", {
            "import_file": SimpleUploadedFile("t.xlsx", content), "format": "1"})

    confirm(importer, TECHS, upload_xlsx("上海市浦东新区张江路100号"))
    technicians_geocode_pending()
    zhou = Technician.objects.get(employee_number="1001")
    assert (zhou.home_precision, round(float(zhou.home_latitude))) == ("district", 31)

    preview = upload_xlsx("北京市朝阳区建国路88号")
    assert "0 to create, 1 to update, 0 unchanged" in counts(preview)
    confirm(importer, TECHS, preview)
    zhou.refresh_from_db()
    # The Shanghai point is dropped and the Beijing address placed, not left at the old point.
    assert (zhou.home_address, zhou.home_precision, zhou.home_latitude) == ("北京市朝阳区建国路88号", "pending", None)
    technicians_geocode_pending()
    zhou.refresh_from_db()
    assert (zhou.home_precision, round(float(zhou.home_latitude))) == ("district", 40)
