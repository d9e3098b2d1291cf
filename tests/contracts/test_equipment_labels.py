"""QR labels on equipment: a sheet with one label per piece at a site, for office staff; the
label's link opens a request form with the customer, site and equipment locked, and a code that
was altered opens nothing."""

import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from customers.qr import equipment_token
from tests.factories import CustomerFactory, EquipmentFactory, ServiceTypeFactory, SiteFactory, UserFactory
from tests.technicians.helpers import jpeg_bytes, photo_upload
from workorders.models import Attachment, WorkOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    site = SiteFactory(customer=CustomerFactory(name="上海某某酒店"), address="上海市静安区南京西路1号")
    for serial in ("SN-A1", "SN-B2", "SN-C3"):
        EquipmentFactory(customer=site.customer, site=site, serial=serial, brand="Daikin", model="FTXM35")
    EquipmentFactory(customer=site.customer, site=SiteFactory(customer=site.customer), serial="SN-ELSEWHERE")
    EquipmentFactory(customer=site.customer, site=site, serial="SN-RETIRED", active=False)
    return site


def test_the_label_sheet_has_one_label_per_piece_of_equipment_at_the_site(client, agent, site):
    client.force_login(agent)

    response = client.get(reverse("c360:site-labels", args=[site.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert [len(page.images) for page in reader.pages] == [3]
    assert all(serial in text for serial in ("SN-A1", "SN-B2", "SN-C3")) and "SN-ELSEWHERE" not in text
    assert "SN-RETIRED" not in text


def test_more_labels_than_a_sheet_holds_go_on_a_second_page(client, agent, site):
    for n in range(20):
        EquipmentFactory(customer=site.customer, site=site, serial=f"SN-X{n:02d}")
    client.force_login(agent)

    reader = PdfReader(io.BytesIO(client.get(reverse("c360:site-labels", args=[site.pk])).content))

    assert [len(page.images) for page in reader.pages] == [21, 2]


def test_only_office_staff_print_labels(client, technician, site):
    url = reverse("c360:site-labels", args=[site.pk])
    assert client.get(url).status_code == 302  # log in first
    client.force_login(technician.user)
    assert client.get(url).status_code == 404
    client.force_login(UserFactory(roles=[]))
    assert client.get(url).status_code == 404


def test_a_site_without_equipment_gets_a_clear_404(client, agent):
    client.force_login(agent)
    response = client.get(reverse("c360:site-labels", args=[SiteFactory().pk]))
    assert response.status_code == 404


def _url(equipment) -> str:
    return reverse("intake:request-equipment", args=[equipment_token(equipment.pk)])


def test_the_labels_link_shows_the_customer_site_and_equipment_locked(client, site):
    piece = site.equipment.get(serial="SN-B2")

    page = client.get(_url(piece)).content.decode()

    assert re.search(r'id="locked-customer">上海某某酒店<', page)
    assert re.search(r'id="locked-site">上海市静安区南京西路1号<', page)
    assert "SN-B2" in page
    # Nothing to change: no field for a phone, an address, a customer or an equipment.
    for name in ("contact_phone", "contact_name", "address", "equipment", "site", "customer"):
        assert f'name="{name}"' not in page
    assert 'name="description"' in page and 'name="photos"' in page


def test_the_order_made_from_a_label_is_tied_to_that_equipment(client, site, settings):
    settings.QR_REQUEST_SERVICE_TYPE = ServiceTypeFactory(code="repair").code
    piece = site.equipment.get(serial="SN-C3")
    page = client.get(_url(piece)).content.decode()
    assert 'name="service_type"' not in page  # the company's default service for labels
    key = re.search(r'name="submission_key" value="([^"]+)"', page).group(1)

    response = client.post(_url(piece), {"submission_key": key, "description": "不制冷", "customer": "999",
                                         "photos": photo_upload("p.jpg", jpeg_bytes())})

    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert (order.equipment_id, order.site_id, order.customer_id) == (piece.pk, site.pk, site.customer_id)
    assert order.service_type.code == "repair" and order.contact_phone == site.customer.phone
    assert order.attachments.filter(kind=Attachment.Kind.CUSTOMER_PHOTO).count() == 1
    assert response["Location"] == reverse("intake:request-done", args=[order.public_token])


def test_without_a_default_service_the_label_form_asks_for_one(client, site, settings):
    settings.QR_REQUEST_SERVICE_TYPE = ""
    service = ServiceTypeFactory()
    piece = site.equipment.get(serial="SN-A1")

    missing = client.post(_url(piece), {"description": "漏水"})
    made = client.post(_url(piece), {"description": "漏水", "service_type": service.pk})

    assert missing.status_code == 400 and not WorkOrder.objects.filter(description="漏水", service_type=None).exists()
    assert made.status_code == 302 and WorkOrder.objects.get().equipment_id == piece.pk


def test_an_empty_description_is_refused_and_creates_nothing(client, site, settings):
    settings.QR_REQUEST_SERVICE_TYPE = ServiceTypeFactory(code="repair").code
    response = client.post(_url(site.equipment.first()), {"description": "  "})
    assert response.status_code == 400 and not WorkOrder.objects.exists()


def test_an_altered_code_opens_nothing(client, site):
    piece, other = site.equipment.order_by("pk")[:2]
    token = equipment_token(piece.pk)
    forged = equipment_token(other.pk).split(":")[0] + ":" + token.split(":", 1)[1]

    for url in (reverse("intake:request-equipment", args=[forged]),
                reverse("intake:request-equipment", args=[token[:-1] + ("A" if token[-1] != "A" else "B")]),
                reverse("intake:request-equipment", args=[str(piece.pk)])):
        response = client.get(url)
        assert response.status_code == 404
        assert "not valid" in response.content.decode()
    assert client.post(reverse("intake:request-equipment", args=[forged]), {"description": "x"}).status_code == 404
    assert not WorkOrder.objects.exists()


def test_a_label_of_equipment_no_longer_on_file_opens_nothing(client, site):
    piece = EquipmentFactory(customer=site.customer, site=site)
    url = _url(piece)
    piece.delete()
    assert client.get(url).status_code == 404


def test_a_label_of_retired_equipment_says_so_and_creates_nothing(client, site, settings):
    settings.QR_REQUEST_SERVICE_TYPE = ServiceTypeFactory(code="repair").code
    piece = site.equipment.get(serial="SN-A1")
    piece.active = False
    piece.save(update_fields=["active"])

    page = client.get(_url(piece))
    posted = client.post(_url(piece), {"description": "不制冷", "submission_key": "k" * 32})

    assert page.status_code == 404
    assert "out of service" in page.content.decode()
    assert 'name="description"' not in page.content.decode()
    assert posted.status_code == 404 and "out of service" in posted.content.decode()
    assert not WorkOrder.objects.exists()
