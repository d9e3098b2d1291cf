"""A manager who is not a superuser imports a customers file in the browser: upload, preview, confirm."""

from __future__ import annotations

import pytest

from core import roles as R
from core.apps import grant_role_permissions
from customers.models import Customer
from tests.factories import UserFactory

from .support import csp_violations

pytestmark = pytest.mark.e2e

PASSWORD = "import-pass-1357"

CUSTOMERS = (
    "客户编号,名称,手机号码,客户等级\n"
    "C001,上海华联超市,138 1234 5678,gold\n"
    "C002,浦东口腔诊所,139 0000 1111,standard\n"
    "C003,静安物业,137 2222 3333,silver\n"
)


def test_a_manager_imports_customers_with_a_preview_and_a_confirmation(people, site, tmp_path):
    manager = UserFactory(username="boss", password=PASSWORD, roles=[R.MANAGER], is_staff=True)
    # Browser tests flush the database after each test, role groups and their permissions with
    # it; give the group its permissions as every migrate does.
    grant_role_permissions(sender=None)
    assert not manager.is_superuser
    upload = tmp_path / "customers.csv"
    upload.write_bytes(CUSTOMERS.encode("gb18030"))  # as a Chinese Excel saves it

    person = people.open("manager", "desktop", "zh-hans")
    page = person.page
    page.goto("/admin/customers/customer/import/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url.endswith("/admin/customers/customer/import/"), page.url

    page.set_input_files("#id_import_file", str(upload))
    page.select_option("#id_format", "0")
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert "新增 3 条，更新 0 条，未变 0 条" in page.inner_text(".import-counts")
    assert "上海华联超市" in page.inner_text("table.import-preview")
    assert Customer.objects.count() == 0  # nothing before the confirmation

    with page.expect_navigation():
        page.click("input[name=confirm]")
    assert page.url.endswith("/admin/customers/customer/"), page.url
    assert set(Customer.objects.values_list("code", flat=True)) == {"C001", "C002", "C003"}
    assert "上海华联超市" in page.inner_text("#result_list")
    assert not csp_violations([person]), person.csp_violations
    assert not person.script_errors, person.script_errors


def test_the_export_page_works_under_the_csp_and_select_all_clears_and_ticks_the_fields(people, site):
    UserFactory(username="boss", password=PASSWORD, roles=[R.MANAGER], is_staff=True)
    grant_role_permissions(sender=None)
    person = people.open("manager", "desktop", "zh-hans")
    page = person.page
    page.goto("/admin/customers/customer/export/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url.endswith("/admin/customers/customer/export/"), page.url

    boxes = page.locator('.selectable-field-export-row input[type="checkbox"]')
    assert boxes.count() > 3 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    page.click("#select-all-toggle")
    assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
    page.click("#select-all-toggle")
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    assert page.inner_text("label[for=select-all-toggle]") == "全选"
    assert not csp_violations([person]), person.csp_violations
    assert not person.script_errors, person.script_errors
