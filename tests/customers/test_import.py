"""Importing customers, sites and equipment from CSV and XLSX files through the admin pages."""

import io
import re
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from django.utils.translation import gettext

from config.celery import app
from customers.models import Customer, Equipment, Site
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "/admin/customers/customer/"
SITES = "/admin/customers/site/"
EQUIPMENT = "/admin/customers/equipment/"

CUSTOMER_CSV = (
    "customer_code,name,phone,email,tier,language,notes\n"
    "C001,上海华联超市,138 1234 5678,ops@hualian.example,gold,zh-hans,\n"
    "C002,Pudong Dental Clinic,+86 139 0000 1111,,Silver,English,Front desk opens at 9\n"
)


def upload(client, url, content, name="customers.csv", fmt=0, language="en"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(
        url + "import/", {"import_file": SimpleUploadedFile(name, data), "format": str(fmt)},
        HTTP_ACCEPT_LANGUAGE=language,
    )


def confirm(client, url, preview):
    form = preview.context["confirm_form"]
    data = {name: form.initial[name] for name in ("import_file_name", "original_file_name", "format")}
    data["resource"] = form.initial.get("resource", "")
    return client.post(url + "process_import/", data)


def import_file(client, url, content, **kwargs):
    preview = upload(client, url, content, **kwargs)
    assert preview.status_code == 200
    assert preview.context.get("confirm_form") is not None, page_errors(preview)
    return preview, confirm(client, url, preview)


def page_errors(response) -> str:
    html = response.content.decode()
    found = re.findall(r'<table class="import-bad-rows">.*?</table>|<ul class="errorlist[^>]*>.*?</ul>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", chunk) for chunk in found)


def bad_rows(response) -> list[tuple[int, str, str]]:
    rows = []
    for row in response.context["result"].invalid_rows:
        for column, messages in row.field_specific_errors.items():
            rows += [(row.number + 1, column, str(m)) for m in messages]
    return rows


@pytest.fixture
def importer(client, manager):
    client.force_login(manager)
    return client


def test_a_manager_previews_then_confirms_and_nothing_is_written_before(importer, manager):
    preview = upload(importer, CUSTOMERS, CUSTOMER_CSV)
    assert preview.status_code == 200
    assert "2 to create, 0 to update, 0 unchanged" in preview.content.decode()
    assert Customer.objects.count() == 0  # the dry run wrote nothing

    done = confirm(importer, CUSTOMERS, preview)
    assert done.status_code == 302
    first = Customer.objects.get(code="C001")
    assert (first.name, first.phone, first.tier, first.language) == ("上海华联超市", "+8613812345678", "gold", "zh-hans")
    second = Customer.objects.get(code="C002")
    assert (second.phone, second.tier, second.language) == ("+8613900001111", "silver", "en")

    entry = LogEntry.objects.get(user=manager, object_repr="customers.csv")
    assert "2 new, 0 updated, 0 unchanged" in entry.change_message


def test_the_same_file_twice_changes_nothing_and_an_edit_updates_only_that_row(importer):
    import_file(importer, CUSTOMERS, CUSTOMER_CSV)
    before = {c.code: (c.pk, c.name) for c in Customer.objects.all()}

    again = upload(importer, CUSTOMERS, CUSTOMER_CSV)
    assert "0 to create, 0 to update, 2 unchanged" in again.content.decode()
    confirm(importer, CUSTOMERS, again)
    assert {c.code: (c.pk, c.name) for c in Customer.objects.all()} == before

    edited = CUSTOMER_CSV.replace("Pudong Dental Clinic", "Pudong Dental Clinic (Lujiazui)")
    preview = upload(importer, CUSTOMERS, edited)
    assert "0 to create, 1 to update, 1 unchanged" in preview.content.decode()
    confirm(importer, CUSTOMERS, preview)
    assert Customer.objects.get(code="C002").name == "Pudong Dental Clinic (Lujiazui)"
    assert Customer.objects.count() == 2


def test_an_import_moves_updated_at_of_the_rows_it_changes_only(importer):
    """What the API's sync (updated_after) reads: the bulk update sends no save()."""
    import_file(importer, CUSTOMERS, CUSTOMER_CSV)
    long_ago = timezone.now() - timedelta(days=3)
    Customer.objects.update(updated_at=long_ago)

    import_file(importer, CUSTOMERS, CUSTOMER_CSV.replace("Front desk opens at 9", "Front desk opens at 8"))
    moved = {c.code for c in Customer.objects.filter(updated_at__gt=long_ago)}
    assert moved == {"C002"}


def test_a_customer_who_called_before_gets_the_code_instead_of_a_duplicate(importer):
    caller = CustomerFactory(name="王先生", phone="+8613812345678")
    import_file(importer, CUSTOMERS, CUSTOMER_CSV)
    caller.refresh_from_db()
    assert caller.code == "C001"
    assert Customer.objects.count() == 2


def test_bad_rows_are_listed_with_line_column_and_reason_and_nothing_is_written(importer):
    CustomerFactory(code="OTHER", phone="+8613700000000")
    content = (
        "customer_code,name,phone,tier\n"
        "C001,Good row,13812345678,gold\n"
        "C002,Bad phone,12345,standard\n"
        "C003,Letters,138-CALL-NOW,standard\n"
        "C001,Same key again,13912345678,standard\n"
        "C004,Taken phone,13700000000,standard\n"
        "C005,Unknown tier,13612345678,platinum\n"
        "C006,,13512345678,standard\n"
    )
    preview = upload(importer, CUSTOMERS, content)
    assert preview.context.get("confirm_form") is None
    rows = bad_rows(preview)
    by_line = {(line, column) for line, column, _reason in rows}
    assert by_line == {(3, "phone"), (4, "phone"), (5, "customer_code"), (6, "phone"), (7, "tier"), (8, "name")}
    reasons = {(line, column): reason for line, column, reason in rows}
    assert "valid mobile phone" in reasons[(3, "phone")]
    assert "line 2" in reasons[(5, "customer_code")]
    assert "OTHER" in reasons[(6, "phone")]
    assert Customer.objects.count() == 1


def test_the_reasons_are_in_the_users_language(importer):
    content = "customer_code,name,phone\nC001,坏号码,12345\n"
    preview = importer.post(
        CUSTOMERS + "import/",
        {"import_file": SimpleUploadedFile("c.csv", content.encode()), "format": "0"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    english = "Enter a valid mobile phone number, for example 138 1234 5678."
    with translation.override("zh-hans"):
        chinese = gettext(english)
        heading = gettext("Reason")
    assert chinese != english and heading != "Reason"
    shown = page_errors(preview)
    assert chinese in shown and heading in shown


def test_a_gbk_file_is_read(importer):
    content = "customer_code,name,phone\nC100,北京朝阳区物业管理有限公司,13812345678\n"
    import_file(importer, CUSTOMERS, content.encode("gbk"))
    assert Customer.objects.get(code="C100").name == "北京朝阳区物业管理有限公司"


def test_chinese_headers_are_accepted(importer):
    content = "客户编号,名称,手机号码\nC200,杭州西湖酒店,13812345678\n"
    import_file(importer, CUSTOMERS, content)
    assert Customer.objects.get(code="C200").name == "杭州西湖酒店"


def test_an_xlsx_file_is_read_with_numbers_as_cells(importer):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["customer_code", "name", "phone"])
    sheet.append([1001, "Number cells Ltd", 13812345678])
    buffer = io.BytesIO()
    book.save(buffer)
    import_file(importer, CUSTOMERS, buffer.getvalue(), name="c.xlsx", fmt=1)
    assert Customer.objects.get(code="1001").phone == "+8613812345678"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfe\x00c\x00o\x00d\x00e", "not a text file"),
        (b"\x80\x80\x80,\xff\xff\n", "could not be read as UTF-8 or GBK"),
        ("name,phone\nX,13812345678\n", "Missing columns: customer_code"),
        ("customer_code,name,phone,fax\nC1,X,13812345678,1\n", "Unknown columns: fax"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_clear_error(importer, content, message):
    preview = upload(importer, CUSTOMERS, content)
    assert message in page_errors(preview)
    assert preview.context.get("confirm_form") is None
    assert Customer.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(importer, settings):
    settings.IMPORT_MAX_BYTES = 100
    preview = upload(importer, CUSTOMERS, CUSTOMER_CSV * 3)
    assert "files up to 100" in page_errors(preview)
    assert Customer.objects.count() == 0


def test_formula_cells_are_refused_but_phone_numbers_with_plus_are_not(importer):
    content = (
        "customer_code,name,phone,notes\n"
        'C1,"=HYPERLINK(""http://evil.example"",""x"")",+8613812345678,\n'
        "C2,Fine,+86 139 1234 5678,@SUM(A1)\n"
        "C3,Fine too,-13712345678,\n"
    )
    rows = bad_rows(upload(importer, CUSTOMERS, content))
    columns = {(line, column) for line, column, _reason in rows}
    assert (2, "name") in columns and (3, "notes") in columns
    assert not any(column == "phone" and line in (2, 3) for line, column, _ in rows)
    assert Customer.objects.count() == 0


def test_exports_escape_formula_text_and_round_trip(importer):
    CustomerFactory(code="C9", name="=cmd|' /C calc'!A0", phone="+8613812345678")
    response = importer.post(CUSTOMERS + "export/", {"format": "0", "export_items": [], **{
        f"customerresource_{name}": "on" for name in ("code", "name", "phone", "email", "tier", "language", "notes")
    }})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "'=cmd" in text
    # The exported file imports again without change.
    again = upload(importer, CUSTOMERS, text.encode("utf-8"))
    assert "0 to create, 0 to update, 1 unchanged" in again.content.decode(), page_errors(again)


def test_without_the_import_permission_the_pages_are_refused(client, agent, manager):
    client.force_login(agent)
    assert client.get(CUSTOMERS + "import/").status_code == 403
    assert upload(client, CUSTOMERS, CUSTOMER_CSV).status_code == 403
    assert client.post(CUSTOMERS + "process_import/", {}).status_code == 403
    assert client.get(CUSTOMERS + "import-template.csv").status_code == 403
    assert Customer.objects.count() == 0

    # A manager whose group loses the permission is refused too.
    manager.groups.get().permissions.remove(Permission.objects.get(codename="import_customer"))
    client.force_login(UserFactory(username="manager2", roles=["manager"], is_staff=True))
    assert client.get(CUSTOMERS + "import/").status_code == 403


def test_a_manager_who_is_not_a_superuser_sees_the_page_and_the_template(importer, manager):
    assert not manager.is_superuser
    page = importer.get(CUSTOMERS + "import/")
    assert page.status_code == 200
    template = importer.get(CUSTOMERS + "import-template.csv")
    header = template.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("customer_code 客户编号,name 名称,phone 手机号码")
    # The template, filled in, imports as it is.
    import_file(importer, CUSTOMERS, header + "\nC1,Filled template,13812345678,,,,\n")
    assert Customer.objects.filter(code="C1").exists()


def test_the_confirmed_import_writes_all_rows_or_none(importer):
    preview = upload(importer, CUSTOMERS, CUSTOMER_CSV)
    # Between the preview and the confirmation another customer takes the second row's number.
    CustomerFactory(code="LATE", phone="+8613900001111")
    done = confirm(importer, CUSTOMERS, preview)
    assert done.status_code == 302
    assert not Customer.objects.filter(code__in=["C001", "C002"]).exists()
    assert not LogEntry.objects.filter(object_repr="customers.csv").exists()


def test_sites_and_equipment_refer_to_customers_by_code(importer):
    import_file(importer, CUSTOMERS, CUSTOMER_CSV)
    sites = (
        "customer_code,site_name,address,city,latitude,longitude\n"
        "C001,Store 12,  88 Nanjing Road   West ,Shanghai,31.2304,121.4737\n"
        "C002,Main clinic,1 Lujiazui Ring Road,Shanghai,,\n"
    )
    import_file(importer, SITES, sites, name="sites.csv")
    store = Site.objects.get(customer__code="C001", label="Store 12")
    assert store.address == "88 Nanjing Road West"

    equipment = (
        "serial_number,customer_code,site_name,brand,model,install_date,warranty_end,active\n"
        "SN-1,C001,Store 12,Daikin,FTXS35,2023/3/1,2026年3月1日,yes\n"
        "SN-2,C002,,Gree,KFR-26,2024-05-20,,no\n"
    )
    import_file(importer, EQUIPMENT, equipment, name="equipment.csv")
    assert [e.active for e in Equipment.objects.order_by("serial")] == [True, False]
    unit = Equipment.objects.get(serial="SN-1")
    assert unit.site == store and str(unit.install_date) == "2023-03-01" and str(unit.warranty_end) == "2026-03-01"

    # The same files again change nothing.
    assert "0 to create, 0 to update, 2 unchanged" in upload(importer, SITES, sites).content.decode()
    assert "0 to create, 0 to update, 2 unchanged" in upload(importer, EQUIPMENT, equipment).content.decode()


def test_unknown_references_and_bad_dates_are_refused(importer):
    import_file(importer, CUSTOMERS, CUSTOMER_CSV)
    sites = "customer_code,site_name,address\nC404,Nowhere,1 Unknown Road\nC001,Ok,2 Known Road\n"
    preview = upload(importer, SITES, sites)
    assert [(line, column) for line, column, _ in bad_rows(preview)] == [(2, "customer_code")]
    assert Site.objects.count() == 0

    equipment = (
        "serial_number,customer_code,site_name,model,install_date,warranty_end\n"
        "SN-1,C001,No such site,M1,,\n"
        "SN-2,C001,,M2,03/01/2024,\n"
        "SN-3,C001,,M3,2024-05-01,2023-01-01\n"
        "SN-4,C404,,M4,,\n"
    )
    rows = bad_rows(upload(importer, EQUIPMENT, equipment))
    assert {(line, column) for line, column, _ in rows} == {
        (2, "site_name"), (3, "install_date"), (4, "warranty_end"), (5, "customer_code"),
    }
    assert "YYYY-MM-DD" in dict(((l, c), r) for l, c, r in rows)[(3, "install_date")]
    assert Equipment.objects.count() == 0


@pytest.fixture
def eager_celery():
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def background_preview(client, url, content, **kwargs):
    """A large file: the upload answers at once with the progress page, which (the task having run,
    eagerly here) shows the preview."""
    sent = upload(client, url, content, **kwargs)
    assert sent.status_code == 302 and "/import-progress/" in sent["Location"], sent.status_code
    return sent["Location"], client.get(sent["Location"], HTTP_ACCEPT_LANGUAGE=kwargs.get("language", "en"))


def test_a_large_file_is_previewed_and_written_by_background_tasks_with_a_progress_page(
        importer, manager, settings, eager_celery, client):
    settings.IMPORT_BACKGROUND_BYTES = 10
    progress, preview = background_preview(importer, CUSTOMERS, CUSTOMER_CSV)
    assert "2 to create, 0 to update, 0 unchanged" in preview.content.decode()
    assert "上海华联超市" in preview.content.decode()
    assert Customer.objects.count() == 0  # the dry run wrote nothing

    done = confirm(importer, CUSTOMERS, preview)
    assert done.status_code == 302 and "/import-progress/" in done["Location"]
    page = importer.get(done["Location"])
    assert "2 created, 0 updated, 0 unchanged" in page.content.decode()
    assert Customer.objects.count() == 2
    assert LogEntry.objects.filter(user=manager, object_repr="customers.csv").exists()

    # Another manager can see neither the preview nor the import.
    client.force_login(UserFactory(username="manager2", roles=["manager"], is_staff=True))
    assert client.get(progress).status_code == 404
    assert client.get(done["Location"]).status_code == 404


def test_a_large_file_with_bad_rows_is_refused_in_the_background_preview_in_the_users_language(
        importer, settings, eager_celery):
    settings.IMPORT_BACKGROUND_BYTES = 10
    content = CUSTOMER_CSV + "C003,,138 1234 5699,,,,\n"
    _progress, page = background_preview(importer, CUSTOMERS, content)
    html = page.content.decode()
    assert page.context.get("confirm_form") is None
    assert "1 row cannot be imported" in html and "<td>4</td><td>name</td>" in html
    assert Customer.objects.count() == 0

    with translation.override("zh-hans"):
        required = gettext("This column is required.")
    _progress, page = background_preview(importer, CUSTOMERS, content, language="zh-hans")
    assert required in page.content.decode()


def test_a_large_file_without_the_required_columns_is_refused_by_the_background_preview(importer, settings, eager_celery):
    settings.IMPORT_BACKGROUND_BYTES = 10
    _progress, page = background_preview(importer, CUSTOMERS, "code,title\nC001,上海华联超市\n")
    html = page.content.decode()
    assert page.context.get("confirm_form") is None
    assert "Missing columns: customer_code, name, phone." in html and "Nothing was written." in html
    assert Customer.objects.count() == 0
    # The refused upload is not kept for a confirmation that cannot come.
    assert not any((Path(settings.MEDIA_ROOT) / "django-import-export").glob("*"))


def test_a_background_import_that_finds_bad_rows_writes_nothing(importer, settings, eager_celery):
    settings.IMPORT_BACKGROUND_BYTES = 10
    _progress, preview = background_preview(importer, CUSTOMERS, CUSTOMER_CSV)
    CustomerFactory(code="LATE", phone="+8613900001111")
    done = confirm(importer, CUSTOMERS, preview)
    page = importer.get(done["Location"])
    assert "Nothing was written" in page.content.decode()
    assert not Customer.objects.filter(code__in=["C001", "C002"]).exists()


def test_imported_sites_are_located_and_a_second_import_keeps_their_points(importer, settings):
    from customers.services import sites_geocode_pending

    import_file(importer, CUSTOMERS, CUSTOMER_CSV)
    sites = (
        "customer_code,site_name,address,city,latitude,longitude\n"
        "C001,Store 12,上海市黄浦区南京东路299号,上海,31.2304,121.4737\n"
        "C002,Main clinic,上海市浦东新区陆家嘴环路1号,上海,,\n"
        "C002,Branch,上海市徐汇区虹漕路461号,上海,121.4311,31.1697\n"
    )
    import_file(importer, SITES, sites, name="sites.csv")
    assert set(Site.objects.values_list("location_precision", flat=True)) == {"pending"}
    assert sites_geocode_pending() == {"exact": 2, "district": 1}
    clinic = Site.objects.get(label="Main clinic")
    assert (clinic.location_precision, clinic.location_area) == ("district", "上海市 浦东新区")
    branch = Site.objects.get(label="Branch")  # latitude and longitude were swapped in the file
    assert (float(branch.latitude), float(branch.longitude)) == (31.1697, 121.4311)

    # The same file again: the geocoded point stays, nothing to update.
    assert "0 to create, 0 to update, 3 unchanged" in upload(importer, SITES, sites).content.decode()
    # A new address in the file: that site is located again.
    import_file(importer, SITES, sites.replace("陆家嘴环路1号", "张江路100号").replace("上海市浦东新区", "北京市海淀区"),
                name="sites.csv")
    clinic.refresh_from_db()
    assert (clinic.location_precision, clinic.latitude) == ("pending", None)
    assert sites_geocode_pending() == {"district": 1}
    clinic.refresh_from_db()
    assert clinic.location_area == "北京市 海淀区"
