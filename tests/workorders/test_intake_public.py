"""The public request form at /request/: a customer asks for service without an account."""

import io
import os
import uuid
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from customers.models import Customer, Site
from tests.factories import CustomerFactory, ServiceTypeFactory
from workorders.models import Attachment, WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db

URL = "/request/"


@pytest.fixture
def client():
    """A browser that prefers English, so that assertions read the English text."""
    return Client(headers={"accept-language": "en"})


@pytest.fixture(autouse=True)
def _fresh_rate_limit(fresh_rate_limits):
    """Every test request comes from 127.0.0.1: start each test with no count."""


def image_upload(fmt="PNG", name=None, size=(40, 30), noise=False):
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    image.save(buffer, fmt)
    ext = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[fmt]
    return SimpleUploadedFile(name or f"photo.{ext}", buffer.getvalue(), content_type=f"image/{ext}")


def form_data(service_type, /, **overrides):
    start = timezone.localtime() + timedelta(days=1)
    data = {
        "submission_key": str(uuid.uuid4()),
        "contact_name": "Wang Fang",
        "contact_phone": "138 1234 5678",
        "contact_email": "wang@example.com",
        "address": "88 Century Avenue, Pudong, Shanghai",
        "service_type": service_type.pk,
        "description": "The air conditioner drips water onto the floor.",
        "priority": WorkOrder.Priority.HIGH,
        "preferred_start": start.strftime("%Y-%m-%dT09:00"),
        "preferred_end": start.strftime("%Y-%m-%dT12:00"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def assert_nothing_saved():
    assert WorkOrder.objects.count() == 0
    assert WorkOrderEvent.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert Customer.objects.count() == 0
    assert Site.objects.count() == 0


def field_block(html: str, name: str) -> str:
    """The HTML of one field's block (label, input, errors)."""
    start = html.index(f'id="field-{name}"')
    end = html.find('<div class="field', start + 1)
    return html[start : end if end != -1 else len(html)]


# -- the happy path ----------------------------------------------------------


def test_form_page_is_public_and_lists_only_active_service_types(client, service_type):
    # Given one active and one retired service type
    ServiceTypeFactory(code="retired", name="Coal stove repair", active=False)
    # When anyone opens the form
    response = client.get(URL)
    # Then it shows without a login, offers the active service only, and carries a fresh submission key
    assert response.status_code == 200
    html = response.content.decode()
    assert "Air conditioner repair" in html
    assert "Coal stove repair" not in html
    assert 'name="submission_key"' in html
    assert 'type="file" name="photos"' in html and "multiple" in field_block(html, "photos")
    assert client.get(URL).context["form"]["submission_key"].value() != response.context["form"]["submission_key"].value()


def test_a_request_becomes_a_work_order_and_the_customer_sees_its_number_and_link(client, service_type):
    # When a customer sends a complete request
    response = client.post(URL, form_data(service_type))
    # Then one work order exists, from the web, with the normalised phone and the window
    wo = WorkOrder.objects.get()
    assert wo.channel == WorkOrder.Channel.WEB
    assert wo.contact_phone == "+8613812345678"
    assert wo.customer.phone == "+8613812345678"
    assert wo.priority == WorkOrder.Priority.HIGH
    assert wo.preferred_end > wo.preferred_start
    assert wo.site.address == "88 Century Avenue, Pudong, Shanghai"
    assert wo.language == "en"
    event = wo.events.get()
    assert (event.action, event.actor_role, event.actor) == ("create", "customer", None)
    # And the customer lands on the confirmation page with the number and the private link
    assert response.status_code == 302
    assert response["Location"] == reverse("intake:request-done", args=[wo.public_token])
    done = client.get(response["Location"])
    html = done.content.decode()
    assert wo.number in html
    assert f"http://testserver/track/{wo.public_token}/" in html


def test_the_done_page_of_an_unknown_token_is_404(client):
    assert client.get("/request/done/not-a-real-token/").status_code == 404


# -- double submission -------------------------------------------------------


def test_a_double_click_sends_the_same_key_twice_and_makes_one_work_order(client, service_type):
    # Given the form as rendered, with its one submission key
    data = form_data(service_type)
    # When it is posted twice (a double click, or a replay after a timeout)
    first = client.post(URL, data)
    second = client.post(URL, data)
    # Then there is one work order, one customer, one creation event, and both answers point at it
    assert WorkOrder.objects.count() == 1
    assert Customer.objects.count() == 1
    assert WorkOrderEvent.objects.count() == 1
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]


def test_a_replay_with_photos_stores_the_photos_once(client, service_type):
    data = form_data(service_type)
    client.post(URL, {**data, "photos": [image_upload("PNG")]})
    client.post(URL, {**data, "photos": [image_upload("PNG")]})
    assert WorkOrder.objects.count() == 1
    assert Attachment.objects.count() == 1


def test_two_forms_with_different_keys_make_two_work_orders_for_one_customer(client, service_type):
    client.post(URL, form_data(service_type))
    client.post(URL, form_data(service_type, description="And now the fridge is warm."))
    assert WorkOrder.objects.count() == 2
    assert Customer.objects.count() == 1


def test_a_form_that_had_errors_keeps_its_key_so_the_corrected_post_still_makes_one(client, service_type):
    data = form_data(service_type)
    bad = client.post(URL, {**data, "contact_phone": "12"})
    assert bad.context["form"]["submission_key"].value() == data["submission_key"]
    assert f'value="{data["submission_key"]}"' in bad.content.decode()
    client.post(URL, data)
    client.post(URL, data)
    assert WorkOrder.objects.count() == 1


# -- photos ------------------------------------------------------------------


def test_good_png_jpeg_and_webp_photos_are_stored_as_attachments(client, service_type, settings):
    photos = [image_upload("PNG"), image_upload("JPEG"), image_upload("WEBP")]
    response = client.post(URL, {**form_data(service_type), "photos": photos})
    assert response.status_code == 302
    wo = WorkOrder.objects.get()
    stored = list(wo.attachments.order_by("id"))
    assert [a.content_type for a in stored] == ["image/png", "image/jpeg", "image/webp"]
    assert [a.kind for a in stored] == [Attachment.Kind.CUSTOMER_PHOTO] * 3
    assert [a.original_name for a in stored] == ["photo.png", "photo.jpg", "photo.webp"]
    assert all((a.width, a.height) == (40, 30) for a in stored)
    for attachment in stored:
        assert attachment.file.name.endswith("." + attachment.extension)
        assert attachment.file.size == attachment.size > 0


def test_a_pdf_renamed_to_jpg_is_refused_beside_the_photos_field_and_nothing_is_saved(client, service_type):
    # Given a PDF renamed to look like a photo, sent with a good photo
    pdf = SimpleUploadedFile("broken-ac.jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "image/jpeg")
    response = client.post(URL, {**form_data(service_type), "photos": [image_upload("PNG"), pdf]})
    # Then the form comes back with the error on the photos field, naming the file
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["photos"]
    assert "broken-ac.jpg is not a JPEG, PNG or WebP image." in errors["photos"]
    assert "broken-ac.jpg is not a JPEG, PNG or WebP image." in field_block(response.content.decode(), "photos")
    # And nothing at all was saved, not even the good photo or the customer
    assert_nothing_saved()


def test_a_photo_over_10_mb_is_refused_and_nothing_is_saved(client, service_type, settings):
    # Given a real PNG just over the 10 MB limit (random pixels do not compress)
    assert settings.PHOTO_MAX_BYTES == 10 * 1024 * 1024
    big = image_upload("PNG", name="huge.png", size=(1900, 1900), noise=True)
    assert big.size > settings.PHOTO_MAX_BYTES
    response = client.post(URL, {**form_data(service_type), "photos": [image_upload("JPEG"), big]})
    assert response.status_code == 400
    assert response.context["form"].errors["photos"] == ["huge.png is larger than 10 MB."]
    assert_nothing_saved()


def test_six_photos_are_refused_five_are_accepted(client, service_type):
    six = [image_upload("PNG", name=f"p{i}.png") for i in range(6)]
    response = client.post(URL, {**form_data(service_type), "photos": six})
    assert response.status_code == 400
    assert "Attach at most 5 photos; you chose 6." in response.context["form"].errors["photos"]
    assert_nothing_saved()

    five = [image_upload("PNG", name=f"p{i}.png") for i in range(5)]
    response = client.post(URL, {**form_data(service_type), "photos": five})
    assert response.status_code == 302
    assert Attachment.objects.count() == 5


def test_a_bad_photo_among_other_errors_still_saves_nothing_and_keeps_what_was_typed(client, service_type):
    pdf = SimpleUploadedFile("scan.png", b"%PDF-1.7 not an image", "image/png")
    response = client.post(URL, {**form_data(service_type, contact_email="nope"), "photos": [pdf]})
    form = response.context["form"]
    assert set(form.errors) == {"photos", "contact_email"}
    html = response.content.decode()
    assert 'value="Wang Fang"' in html
    assert "The air conditioner drips water onto the floor." in html
    assert_nothing_saved()


# -- field validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"contact_phone": "12345"}, "contact_phone", "Enter a valid mobile phone number, for example 138 1234 5678."),
        ({"contact_phone": ""}, "contact_phone", "This field is required."),
        ({"contact_email": "wang-at-example"}, "contact_email", "Enter a valid email address."),
        ({"contact_name": "   "}, "contact_name", "This field is required."),
        ({"address": ""}, "address", "This field is required."),
        ({"description": ""}, "description", "This field is required."),
        ({"description": "x" * 4001}, "description", None),
        ({"service_type": "999999"}, "service_type", None),
        ({"priority": "9"}, "priority", None),
        ({"preferred_start": "tomorrow-ish"}, "preferred_start", "Enter a valid date/time."),
    ],
)
def test_a_bad_field_is_named_beside_it_and_nothing_is_saved(client, service_type, overrides, field, message):
    response = client.post(URL, form_data(service_type, **overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    if message:
        assert errors[field] == [message]
    # The message sits in that field's block of the page
    assert errors[field][0] in field_block(response.content.decode(), field).replace("&#x27;", "'")
    assert_nothing_saved()


def test_window_end_before_start_is_refused_on_the_end_field(client, service_type):
    day = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%d")
    response = client.post(URL, form_data(service_type, preferred_start=f"{day}T15:00", preferred_end=f"{day}T09:00"))
    assert response.context["form"].errors == {"preferred_end": ["The end of the time window must be after its start."]}
    html = response.content.decode()
    assert f'value="{day}T15:00"' in html  # what was typed is kept
    assert_nothing_saved()


def test_half_a_window_is_refused_and_no_window_at_all_is_fine(client, service_type):
    response = client.post(URL, form_data(service_type, preferred_end=""))
    assert response.context["form"].errors == {"preferred_end": ["Give the end of the time window too."]}
    assert_nothing_saved()

    response = client.post(URL, form_data(service_type, preferred_start="", preferred_end=""))
    assert response.status_code == 302
    assert WorkOrder.objects.get().preferred_start is None


def test_a_window_in_the_past_is_refused(client, service_type):
    past = timezone.localtime() - timedelta(days=3)
    response = client.post(
        URL,
        form_data(
            service_type,
            preferred_start=past.strftime("%Y-%m-%dT09:00"),
            preferred_end=past.strftime("%Y-%m-%dT12:00"),
        ),
    )
    assert list(response.context["form"].errors) == ["preferred_end"]
    assert_nothing_saved()


def test_phone_spellings_find_the_same_customer(client, service_type):
    # Given a customer already on file
    CustomerFactory(phone="+8613812345678", name="Wang Fang")
    # When they send requests with their number written in different ways
    for spelling in ("13812345678", "+86 138-1234-5678", "(+86) 138 1234 5678"):
        assert client.post(URL, form_data(service_type, contact_phone=spelling)).status_code == 302
    # Then all three are theirs, and no new customer was made
    assert Customer.objects.count() == 1
    assert set(WorkOrder.objects.values_list("customer__phone", flat=True)) == {"+8613812345678"}


# -- rate limit ---------------------------------------------------------------


def test_one_address_is_limited_to_the_configured_rate_with_a_friendly_429(client, service_type, settings):
    # Given a limit of 3 submissions a minute
    settings.PUBLIC_FORM_RATE = "3/m"
    caches["ratelimit"].clear()
    # When one address posts four times (four callers: one caller's repeats would join the first)
    answers = [client.post(URL, form_data(service_type, contact_phone=f"138 1234 56{n:02d}")).status_code
               for n in range(4)]
    # Then the first three go through and the fourth is refused with a friendly page
    assert answers == [302, 302, 302, 429]
    assert WorkOrder.objects.count() == 3
    refused = client.post(URL, form_data(service_type))
    assert refused.status_code == 429
    assert "Please wait a minute and try again" in refused.content.decode()
    assert WorkOrder.objects.count() == 3
    # And reading the form is not limited, nor is another address
    assert client.get(URL).status_code == 200
    other = client.post(URL, form_data(service_type), REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_a_double_click_arriving_at_the_same_moment_makes_one_work_order(service_type):
    # Given two copies of one submission, sent at the same instant on two connections
    import threading

    from django.db import connection

    data = form_data(service_type)
    barrier = threading.Barrier(2)
    answers = [None, None]

    def post(i):
        try:
            browser = Client(headers={"accept-language": "en"})
            barrier.wait()
            response = browser.post(URL, data)
            answers[i] = (response.status_code, response.get("Location"))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Then both see the same confirmation, and one work order, customer and event exist
    assert answers[0] == answers[1] and answers[0][0] == 302
    assert WorkOrder.objects.count() == 1
    assert Customer.objects.count() == 1
    assert WorkOrderEvent.objects.count() == 1
