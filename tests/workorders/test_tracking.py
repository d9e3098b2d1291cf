"""The customer's private tracking page, /track/<token>/, and the photos behind it."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from core.images import clean_image
from tests.factories import TechnicianFactory, UserFactory, WorkOrderFactory
from workorders.lifecycle import Status
from workorders.models import Attachment, WorkOrder
from workorders.services import workorder_create, workorder_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


def png(name="leak.png", colour=(10, 120, 200)):
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), colour).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def request_from(service_type, *, name, phone, description, address, photos=()):
    work_order, _ = workorder_create(
        channel=WorkOrder.Channel.WEB,
        contact_name=name,
        contact_phone=phone,
        contact_email=f"{name.split()[0].lower()}@example.com",
        address=address,
        service_type=service_type,
        description=description,
        photos=[clean_image(p) for p in photos],
    )
    return work_order


@pytest.fixture
def wang_order(service_type):
    return request_from(
        service_type,
        name="Wang Fang",
        phone="+8613812345678",
        description="Air conditioner drips water.",
        address="88 Century Avenue",
        photos=[png("ac.png")],
    )


@pytest.fixture
def li_order(service_type):
    """Another customer's request, which must never show on Wang's page."""
    return request_from(
        service_type,
        name="Li Secretname",
        phone="+8613900001111",
        description="Fridge makes a grinding noise in flat 1702.",
        address="1 Hidden Lane",
        photos=[png("fridge.png", (1, 2, 3))],
    )


def page(client, work_order):
    response = client.get(f"/track/{work_order.public_token}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_new_request_shows_its_number_plain_status_service_and_first_event(client, wang_order):
    html = page(client, wang_order)
    assert wang_order.number in html
    assert "We have received your request and will assign a technician soon." in html
    assert "Air conditioner repair" in html
    assert "We received your request." in html
    assert "Air conditioner drips water." in html


def test_the_history_tells_the_story_in_plain_words_without_naming_staff(client, wang_order, dispatcher):
    # Given staff with full names, and a technician who rejects with an internal remark
    dispatcher.first_name, dispatcher.last_name = "Meiling", "Dispatcherson"
    dispatcher.save()
    first = TechnicianFactory(user__first_name="Qiang", user__last_name="Rejecterson")
    second = TechnicianFactory(user__first_name="Jun", user__last_name="Hou")
    start = timezone.now() + timedelta(days=1)

    def fire(action, actor, **kw):
        workorder_transition(work_order_id=wang_order.pk, action=action, actor=actor, **kw)

    fire("assign", dispatcher, technician_id=first.pk)
    fire("reject", first.user, note="Customer was rude on the phone, internal only")
    fire("assign", dispatcher, technician_id=second.pk, appointment_start=start,
         appointment_end=start + timedelta(hours=2))
    fire("accept", second.user)
    fire("depart", second.user)
    fire("arrive", second.user)
    fire("hold", second.user, note="Waiting for a spare compressor")

    # When the customer opens their link
    html = page(client, wang_order)

    # Then they read where it stands, in plain words, with the appointment
    assert "The work is paused for now; we will be in touch." in html
    assert timezone.localtime(start).strftime("%Y-%m-%d %H:%M") in html
    # And the story, step by step, naming the technician by first name only
    for line in [
        "We received your request.",
        "Technician Qiang was assigned to your request.",
        "We are arranging a technician for you.",
        "Technician Jun was assigned to your request.",
        "Your technician confirmed the job.",
        "Your technician is on the way.",
        "Your technician arrived and started work.",
        "The work was paused.",
    ]:
        assert line in html, line
    assert html.index("Technician Qiang") < html.index("Technician Jun") < html.index("The work was paused.")
    assert "Your technician: Jun" in html
    # But not the internal reject or hold reasons, last names, the dispatcher, or user names
    for secret in ["rude", "spare compressor", "Rejecterson", "Hou", "Meiling", "Dispatcherson", dispatcher.username, second.user.username]:
        assert secret not in html, secret


def test_a_wrong_or_made_up_token_is_404(client, wang_order):
    assert client.get("/track/not-the-token/").status_code == 404
    token = wang_order.public_token
    one_letter_off = token[:-1] + ("y" if token.endswith("x") else "x")  # never the token itself
    assert client.get(f"/track/{one_letter_off}/").status_code == 404
    # The work-order number is not a tracking link
    assert client.get(f"/track/{wang_order.number}/").status_code == 404
    assert client.get(f"/track/{wang_order.pk}/").status_code == 404


def test_the_page_shows_nothing_of_another_customer(client, wang_order, li_order):
    html = page(client, wang_order)
    for other in ["Li Secretname", "+8613900001111", "13900001111", "Fridge makes a grinding noise", "1 Hidden Lane",
                  li_order.number, li_order.public_token]:
        assert other not in html, other
    li_photo = li_order.attachments.get()
    assert f"/photos/{li_photo.pk}/" not in html


def test_the_customer_sees_their_own_photos_but_not_through_another_link(client, wang_order, li_order):
    own = wang_order.attachments.get()
    li_photo = li_order.attachments.get()
    html = page(client, wang_order)
    assert f"/track/{wang_order.public_token}/photos/{own.pk}/" in html

    response = client.get(f"/track/{wang_order.public_token}/photos/{own.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")

    # Li's photo id through Wang's token: not found
    assert client.get(f"/track/{wang_order.public_token}/photos/{li_photo.pk}/").status_code == 404
    assert client.get(f"/track/wrong-token/photos/{own.pk}/").status_code == 404


def test_on_site_photos_and_signatures_are_not_served_as_customer_photos(client, wang_order):
    onsite = Attachment.objects.create(
        work_order=wang_order, kind=Attachment.Kind.SIGNATURE, file=png("sig.png"), content_type="image/png", size=10
    )
    assert f"/photos/{onsite.pk}/" not in page(client, wang_order)
    assert client.get(f"/track/{wang_order.public_token}/photos/{onsite.pk}/").status_code == 404


def test_a_cancelled_request_says_so_without_the_offices_reason(client, wang_order, agent):
    workorder_transition(work_order_id=wang_order.pk, action="cancel", actor=agent, note="Customer fixed it themselves")
    html = page(client, wang_order)
    assert "This request was cancelled." in html
    assert "Your request was cancelled." in html
    assert "Customer fixed it themselves" not in html


def test_the_tracking_page_is_not_cached_or_indexed(client, wang_order):
    response = client.get(f"/track/{wang_order.public_token}/")
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]


# -- the staff route to attachments -------------------------------------------


def test_staff_attachment_follows_work_order_visibility(client, wang_order, agent, technician, other_technician):
    photo = wang_order.attachments.get()
    url = f"/attachments/{photo.pk}/"
    # Anonymous: log in first
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    # An agent sees every work order's photos
    client.force_login(agent)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    # A technician sees the photos of their own jobs only; another's is 404
    mine = WorkOrderFactory(technician=technician, status=Status.ASSIGNED)
    mine_photo = Attachment.objects.create(
        work_order=mine, kind=Attachment.Kind.CUSTOMER_PHOTO, file=png(), content_type="image/png", size=10
    )
    client.force_login(technician.user)
    assert client.get(f"/attachments/{mine_photo.pk}/").status_code == 200
    assert client.get(url).status_code == 404
    client.force_login(other_technician.user)
    assert client.get(f"/attachments/{mine_photo.pk}/").status_code == 404
    # A user with no role sees nothing
    client.force_login(UserFactory(username="nobody"))
    assert client.get(url).status_code == 404


def test_staff_attachment_unknown_id_is_404(client, manager):
    client.force_login(manager)
    assert client.get("/attachments/987654/").status_code == 404


def test_a_partner_technician_sees_photos_of_their_company_jobs(client, partner_technician, wang_order):
    job = WorkOrderFactory(technician=partner_technician, status=Status.ASSIGNED)
    photo = Attachment.objects.create(
        work_order=job, kind=Attachment.Kind.CUSTOMER_PHOTO, file=png(), content_type="image/png", size=10
    )
    client.force_login(partner_technician.user)
    assert client.get(f"/attachments/{photo.pk}/").status_code == 200
    assert client.get(f"/attachments/{wang_order.attachments.get().pk}/").status_code == 404
