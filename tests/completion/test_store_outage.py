"""The object store down while a technician completes a job with photos: the completion is
refused with a message saying what happened, and nothing is half-saved - no report, no
attachment row, the order still in progress, no file left in the bucket. Likewise a customer's
request with photos on the public form.

A real S3 server (moto's, on a local port) that the test stops and starts again.
"""

import uuid

import boto3
import pytest
from django.urls import reverse
from moto.server import ThreadedMotoServer

from completion.models import CompletionReport
from config.settings import s3_storage
from tests.celery.support import free_port
from tests.inventory.helpers import put, van
from tests.factories import PartFactory
from tests.technicians.helpers import completion_post, job_for, photo_upload
from workorders.lifecycle import Status
from tests.workorders.test_intake_public import form_data, image_upload
from workorders.models import Attachment, WorkOrder

pytestmark = pytest.mark.django_db

KEY, SECRET = "test-key", "test-secret"
MESSAGE = "The photos could not be stored: the file store is not answering."


class ObjectStore:
    """A moto S3 server of the test's own on a fixed port, with one private bucket; ``stop()`` and
    ``start()`` it (moto keeps its objects in memory: a restarted store is empty, the bucket made again)."""

    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.bucket = f"media-{uuid.uuid4().hex[:12]}"
        self.server = None

    def start(self):
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.client().create_bucket(Bucket=self.bucket)

    def stop(self):
        self.server.stop()
        self.server = None

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=KEY, aws_secret_access_key=SECRET)

    def keys(self) -> set[str]:
        return {o["Key"] for o in self.client().list_objects_v2(Bucket=self.bucket).get("Contents", [])}


@pytest.fixture
def store(settings):
    server = ObjectStore()
    server.start()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage(server.bucket, endpoint_url=server.endpoint, access_key=KEY, secret_key=SECRET,
                              addressing_style="path"),
    }
    yield server
    if server.server is not None:
        server.stop()


@pytest.fixture
def tech_client(client, technician):
    client.force_login(technician.user)
    return client


def _complete(tech_client, wo, data):
    photos = [photo_upload("pump.jpg"), photo_upload("filter.jpg")]
    return tech_client.post(reverse("tech:complete", args=[wo.pk]), {**data, "photos": photos})


def _nothing_saved(wo):
    wo.refresh_from_db()
    assert wo.status == Status.IN_PROGRESS
    assert not CompletionReport.objects.filter(work_order=wo).exists()
    assert not Attachment.objects.filter(work_order=wo).exists()
    assert not wo.events.filter(action="complete").exists()


def test_with_the_store_down_a_completion_with_photos_is_refused_and_can_be_sent_again_once_it_is_back(
    store, tech_client, technician
):
    wo = job_for(technician)
    data = completion_post()
    # Given the object store stops
    store.stop()

    # When the technician sends the completion with two photos
    answer = _complete(tech_client, wo, data)

    # Then they are told, on the form, that nothing was saved and to try again
    assert answer.status_code == 503
    assert MESSAGE in answer.content.decode()
    assert 'name="work_done"' in answer.content.decode()  # the form again, with what they typed
    _nothing_saved(wo)

    # When the store is back and they send the same form again
    store.start()
    answer = _complete(tech_client, wo, data)

    # Then the job is resolved with its report, and the bucket holds exactly the files its rows name
    assert answer.status_code == 302
    wo.refresh_from_db()
    assert wo.status in (Status.RESOLVED, Status.FOLLOW_UP)
    report = CompletionReport.objects.get(work_order=wo)
    assert report.photos.count() == 2
    assert store.keys() == set(Attachment.objects.filter(work_order=wo).values_list("file", flat=True))
    assert len(store.keys()) == 3  # the signature and two photos


def test_a_completion_refused_after_its_files_were_stored_leaves_none_in_the_bucket(store, tech_client, technician):
    # Given the technician's van holds one of a part, and the report says three were used
    pump = PartFactory(part_number="PMP-1")
    put(van(technician), pump, 1)
    wo = job_for(technician)

    # When the completion, its files already stored, is refused inside its transaction
    answer = _complete(tech_client, wo, completion_post(parts=[("PMP-1", 3)]))

    # Then the refusal is shown, nothing is saved, and the stored files were deleted again
    assert answer.status_code == 409
    _nothing_saved(wo)
    assert store.keys() == set()


def test_with_the_store_down_a_request_with_photos_on_the_public_form_is_refused_and_nothing_is_kept(
    store, service_type, fresh_rate_limits, client
):
    store.stop()
    answer = client.post("/request/", form_data(service_type, photos=[image_upload(size=(64, 48))]))
    assert answer.status_code == 400
    assert MESSAGE in answer.content.decode()
    assert not WorkOrder.objects.exists() and not Attachment.objects.exists()

    store.start()
    answer = client.post("/request/", form_data(service_type, photos=[image_upload(size=(64, 48))]))
    assert answer.status_code == 302
    assert store.keys() == {WorkOrder.objects.get().attachments.get().file.name}
