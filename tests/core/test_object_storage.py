"""Files in an S3-compatible object store (STORAGE_S3_*): photos, signatures and import uploads
go to a private bucket on a real S3 server (moto's, on a local port), and reach a user only
through the application's permission checks, as a short-lived signed address."""

import io
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from django.test import Client
from django.urls import reverse
from moto.server import ThreadedMotoServer
from pypdf import PdfReader

from completion.services import PhotoUpload, completion_submit
from config.settings import s3_storage
from core.storage import ping
from tests.technicians.helpers import job_for, jpeg_bytes, photo_upload, signature_png
from tests.workorders.test_intake_public import form_data, image_upload
from workorders.models import Attachment, WorkOrder

pytestmark = pytest.mark.django_db

KEY, SECRET = "test-key", "test-secret"


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def store(s3_server, settings):
    """A fresh private bucket, the default storage for this test."""
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id=KEY, aws_secret_access_key=SECRET
    )
    client.create_bucket(Bucket=bucket)
    settings.STORAGE_S3_URL_SECONDS = 45
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage(bucket, endpoint_url=s3_server, access_key=KEY, secret_key=SECRET,
                              url_seconds=45, addressing_style="path"),
    }

    def keys(prefix=""):
        return [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]

    return SimpleNamespace(client=client, bucket=bucket, endpoint=s3_server, keys=keys)


def fetch(url):
    """GET ``url`` as a browser without cookies would: (status, body)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read(), answer.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


@pytest.fixture
def customer_order(store, service_type, fresh_rate_limits):
    """A request with one photo, sent through the public form."""
    photo = image_upload(size=(64, 48))
    client = Client(headers={"accept-language": "en"})
    response = client.post("/request/", form_data(service_type, photos=[photo]))
    assert response.status_code == 302, response.content[:500]
    return WorkOrder.objects.get()


def test_a_photo_from_the_public_form_is_a_private_object_in_the_bucket_not_a_file_on_the_host(
    store, customer_order, settings
):
    attachment = customer_order.attachments.get()
    assert store.keys() == [attachment.file.name]
    assert not Path(settings.MEDIA_ROOT).exists() or not any(Path(settings.MEDIA_ROOT).rglob("*.*"))
    grants = store.client.get_object_acl(Bucket=store.bucket, Key=attachment.file.name)["Grants"]
    assert [g["Grantee"].get("URI") for g in grants if g["Grantee"]["Type"] == "Group"] == []
    # The object's plain address, without a signature, is refused by the store.
    status, _body, _headers = fetch(f"{store.endpoint}/{store.bucket}/{attachment.file.name}")
    assert status == 403


def test_the_customer_gets_their_photo_through_a_signed_short_lived_address(store, customer_order):
    attachment = customer_order.attachments.get()
    response = Client().get(f"/track/{customer_order.public_token}/photos/{attachment.pk}/")

    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert location.startswith(f"{store.endpoint}/{store.bucket}/")
    assert query["X-Amz-Expires"] == ["45"] and "X-Amz-Signature" in query
    status, body, headers = fetch(location)
    stored = store.client.get_object(Bucket=store.bucket, Key=attachment.file.name)["Body"].read()
    assert status == 200 and body == stored and body[:8] == b"\x89PNG\r\n\x1a\n"
    assert headers["Content-Type"] == "image/png"


def test_the_permission_checks_come_first_and_hand_out_no_address(store, customer_order, technician):
    attachment = customer_order.attachments.get()
    wrong_token = Client().get(f"/track/{'x' * 32}/photos/{attachment.pk}/")
    assert wrong_token.status_code == 404 and "Location" not in wrong_token

    client = Client()
    client.force_login(technician.user)  # not their job
    response = client.get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 404 and "Location" not in response


def test_staff_who_may_see_the_order_are_redirected_to_the_object(store, customer_order, agent):
    attachment = customer_order.attachments.get()
    client = Client()
    client.force_login(agent)
    response = client.get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 302
    assert fetch(response["Location"])[0] == 200


def test_a_completion_stores_photo_and_signature_in_the_bucket_and_the_pdf_reads_them_back(
    store, technician, manager
):
    wo = job_for(technician)
    completion_submit(
        work_order_id=wo.pk, actor=technician.user, submission_key=uuid.uuid4(), work_done="Replaced the pump.",
        labour_minutes=30, signer_name="Wang Fang", signature=signature_png(), checklist={}, parts=[],
        photos=[PhotoUpload(photo_upload("a.jpg", jpeg_bytes()))],
    )
    names = {a.kind: a.file.name for a in wo.attachments.all()}
    assert set(names) == {Attachment.Kind.ONSITE_PHOTO, Attachment.Kind.SIGNATURE}
    assert set(names.values()) <= set(store.keys())

    client = Client()
    client.force_login(manager)
    content = client.get(reverse("completion:report-pdf", args=[wo.pk])).content
    images = [image for page in PdfReader(io.BytesIO(content)).pages for image in page.images]
    assert len(images) == 2


def test_an_import_upload_waits_for_its_confirmation_in_the_bucket(store, client, manager):
    from customers.models import Customer
    from tests.customers.test_import import CUSTOMER_CSV, CUSTOMERS, confirm, upload

    client.force_login(manager)
    preview = upload(client, CUSTOMERS, CUSTOMER_CSV)
    waiting = preview.context["confirm_form"].initial["import_file_name"]
    assert store.keys("django-import-export/") == [f"django-import-export/{waiting}"]

    confirm(client, CUSTOMERS, preview)
    assert set(Customer.objects.values_list("code", flat=True)) == {"C001", "C002"}
    assert store.keys("django-import-export/") == []


def test_readiness_sees_the_bucket_and_its_absence(store, settings):
    assert ping() is True
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage("no-such-bucket", endpoint_url=store.endpoint, access_key=KEY, secret_key=SECRET,
                              addressing_style="path"),
    }
    with pytest.raises(Exception):
        ping()
