"""A technician on a phone asks for a part the job needs, a storekeeper approves and ships it from
the warehouse, and the technician confirms receipt: the part is then in the van. The technician's
pages in Chinese at phone size, the storekeeper's in English on a desktop. Screenshots in
<E2E_SCREENSHOTS_DIR or var/e2e-screenshots>/<test name>/."""

import pytest

from core.apps import grant_role_permissions
from inventory.models import PartRequest, StockLevel, StockLocation
from inventory.services import stock_receive
from tests.factories import PartFactory, TechnicianFactory, UserFactory, WorkOrderFactory
from workorders.lifecycle import Status

from .support import foreign_requests, untranslated

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "parts-pass-1357"


def test_a_technician_requests_a_part_on_the_phone_and_confirms_receipt(people, screenshots, axe, site):
    storekeeper = UserFactory(username="store", password=PASSWORD, roles=["manager"], is_staff=True)
    grant_role_permissions(sender=None)
    technician = TechnicianFactory(user=UserFactory(username="li", password=PASSWORD, roles=["technician"],
                                                    first_name="李", last_name="伟"))
    compressor = PartFactory(part_number="CMP-15P", name="压缩机 1.5匹", unit="pcs")
    warehouse = StockLocation.objects.create(code="wh", name="中心仓库", kind="warehouse")
    van = StockLocation.objects.create(code="van-li", name="李伟的车", kind="van", technician=technician)
    stock_receive(location_id=warehouse.pk, part_id=compressor.pk, quantity=3, actor=storekeeper)
    job = WorkOrderFactory(status=Status.ACCEPTED, technician=technician, description="空调不制冷，压缩机不启动")
    data = ["CMP-15P", "压缩机 1.5匹", "中心仓库", "李伟的车", "李", "伟", "空调不制冷，压缩机不启动", job.number,
            job.contact_name, job.address, job.service_type.name, "li"]
    findings = []

    phone = people.open("technician", "phone", "zh-hans")
    page = phone.page
    phone.go(f"/tech/jobs/{job.pk}/")
    phone.log_in("li", PASSWORD)
    page.wait_for_selector("#parts")
    page.click("#parts summary")
    page.fill("#parts input[name='part']", "CMP-15P")
    page.fill("#parts input[name='qty']", "1")
    page.fill("#parts input[name='note']", "客户家压缩机烧了")
    screenshots.take(phone, "job-parts-request")
    findings += [f"job: {p}" for p in axe(page)]
    findings += [f"job: {p}" for p in untranslated(page, language="zh-hans", data=data + ["客户家压缩机烧了"])]
    with page.expect_navigation():
        page.click("#parts button[type='submit']")
    assert "已申请配件" in page.inner_text(".messages")
    request = PartRequest.objects.get(technician=technician)
    assert request.work_order_id == job.pk and request.status == "requested"
    assert "CMP-15P" in page.inner_text(f"#parts [data-request='{request.pk}']")
    screenshots.take(phone, "job-parts-requested")

    desk = people.open("storekeeper", "desktop", "en")
    desk.go("/staff/stock/requests/")
    desk.log_in("store", PASSWORD)
    card = desk.page.locator(f"[data-request='{request.pk}']")
    card.locator("select[name='source']").select_option(str(warehouse.pk))
    with desk.page.expect_navigation():
        card.locator("button:has-text('Approve')").click()
    desk.go("/staff/stock/requests/?status=approved")
    with desk.page.expect_navigation():
        desk.page.locator(f"[data-request='{request.pk}'] button:has-text('Ship')").click()
    request.refresh_from_db()
    assert request.status == "shipped"

    phone.go("/tech/parts/")
    page.wait_for_selector(f"[data-request='{request.pk}']")
    shipped = page.inner_text(f"[data-request='{request.pk}']")
    assert "我已收到这些配件" in shipped and "发自 中心仓库" in shipped
    screenshots.take(phone, "parts-shipped")
    findings += [f"parts: {p}" for p in axe(page)]
    findings += [f"parts: {p}" for p in untranslated(page, language="zh-hans", data=data)]
    with page.expect_navigation():
        page.click(f"[data-request='{request.pk}'] button[type='submit']")
    assert "已确认收货" in page.inner_text(".messages")
    screenshots.take(phone, "parts-received")

    request.refresh_from_db()
    assert request.status == "received"
    levels = dict(StockLevel.objects.filter(part=compressor).values_list("location_id", "on_hand"))
    assert levels == {warehouse.pk: 2, van.pk: 1}
    assert not foreign_requests([phone, desk]), foreign_requests([phone, desk])
    assert not phone.script_errors and not phone.csp_violations, phone.script_errors + phone.csp_violations
    assert not desk.script_errors and not desk.csp_violations, desk.script_errors + desk.csp_violations
    assert not findings, "\n".join(findings)
