"""Redis down for a while: intake, login, the staff and technician pages and the lifecycle go on,
and what was to be sent is sent once Redis is back.

Real servers: the test starts its own redis-server on a free port (cache, rate limits and
broker of this process, broker of a real Celery worker and beat) and stops it; PostgreSQL
as everywhere. The web requests run in this process through Django's test client, on the
same settings and middleware a gunicorn worker has.

Skipped, with the reason shown, when redis-server is not installed.
"""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from core import roles as R
from tests.factories import ServiceTypeFactory, TechnicianFactory, UserFactory
from tests.technicians.helpers import completion_post
from tests.workorders.test_intake_public import form_data
from workorders.lifecycle import Status
from notifications.models import Notification
from sla.models import SlaPolicy
from workorders.models import WorkOrder

from .support import (
    CeleryProcesses,
    ProviderStub,
    database_url,
    point_app_at,
    restore_app,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def provider():
    stub = ProviderStub()
    yield stub
    stub.close()


@pytest.fixture
def redis_and_queue(private_redis, settings):
    """The private Redis is this process's broker too, with a queue of the test's own."""
    settings.CELERY_BROKER_URL = private_redis.url
    queue = f"test-{uuid.uuid4().hex[:12]}"
    old = point_app_at(private_redis.url, queue)
    yield private_redis, queue
    restore_app(old)


class Browser(Client):
    """A test client that adds every answer's status to ``statuses``, to check none was a server error."""

    def __init__(self, statuses: list, **defaults):
        super().__init__(HTTP_ACCEPT_LANGUAGE="en", **defaults)
        self.statuses = statuses

    def request(self, **request):
        response = super().request(**request)
        self.statuses.append((request.get("PATH_INFO"), response.status_code))
        return response


def test_with_redis_down_every_page_works_and_each_message_goes_out_once_it_is_back(
    redis_and_queue, provider, settings, tmp_path
):
    server, queue = redis_and_queue
    statuses: list = []
    settings.PUBLIC_BASE_URL = "https://service.example.com"
    settings.OUTBOX_ENQUEUE_ON_COMMIT = True  # the after-commit hand-over to the broker is tried too
    settings.OUTBOX_ENQUEUE_BATCH_MS = 0  # ... inside the request, where a broker error would hurt
    SlaPolicy.objects.all().delete()  # no escalations in the worker's sweeps: the messages here are the lifecycle's
    service_type = ServiceTypeFactory(code="ac-repair", name="Air conditioner repair")
    UserFactory(username="dispatcher", roles=[R.DISPATCHER], is_staff=True)  # password "pw"
    technician = TechnicianFactory(user__username="tech")
    worker = CeleryProcesses(
        broker=server.url, queue=queue, database=database_url(settings.DATABASES["default"]), tmp_path=tmp_path,
        env={"SMS_API_URL": f"{provider.url}/sms"},
    ).start()
    try:
        worker.wait_ready()
        anonymous = Browser(statuses)
        # Redis and the broker answer, and beat's first periodic run has started (a slow machine
        # may take a few seconds after "ready" for it: /readyz's beat check waits for one)
        wait_until(lambda: anonymous.get("/readyz").status_code == 200, timeout=30, what="/readyz to be green")

        # Given Redis stops
        server.stop()

        # When a customer asks for service on the public form
        customer = Browser(statuses)
        assert customer.get("/request/").status_code == 200
        answer = customer.post("/request/", form_data(service_type))
        assert answer.status_code == 302
        wo = WorkOrder.objects.get()
        assert customer.get(answer.url).status_code == 200  # the "thank you" page with the tracking link

        # ... a dispatcher logs in on the login page, opens the queue and the order, and assigns it
        dispatcher = Browser(statuses)
        assert dispatcher.get("/accounts/login/").status_code == 200
        login = dispatcher.post("/accounts/login/", {"username": "dispatcher", "password": "pw"})
        assert login.status_code == 302
        queue_page = dispatcher.get(reverse("staff:list"))
        assert queue_page.status_code == 200 and wo.number in queue_page.content.decode()
        assert dispatcher.get(reverse("staff:detail", args=[wo.pk])).status_code == 200
        assigned = dispatcher.post(reverse("staff:transition", args=[wo.pk]),
                                   {"action": "assign", "technician": technician.pk})
        assert assigned.status_code == 302
        assert dispatcher.get(assigned.url).status_code == 200

        # ... and the technician logs in and works the job from their phone to the signed report
        tech = Browser(statuses)
        assert tech.post("/accounts/login/", {"username": "tech", "password": "pw"}).status_code == 302
        jobs = tech.get(reverse("tech:jobs"))
        assert jobs.status_code == 200 and wo.number in jobs.content.decode()
        for action in ("accept", "depart", "arrive"):
            tapped = tech.post(reverse("tech:status", args=[wo.pk]), {"action": action})
            assert tapped.status_code == 302
            assert tech.get(tapped.url).status_code == 200
        assert tech.get(reverse("tech:complete", args=[wo.pk])).status_code == 200
        done = tech.post(reverse("tech:complete", args=[wo.pk]), completion_post())
        assert done.status_code == 302

        # Then everything was saved, and every answer was a page, none a server error
        wo.refresh_from_db()
        assert wo.status in (Status.RESOLVED, Status.FOLLOW_UP)
        assert [e.action for e in wo.events.order_by("id")][:6] == [
            "create", "assign", "accept", "depart", "arrive", "complete"]
        assert statuses and all(status < 500 for path, status in statuses if path != "/readyz"), statuses
        # ... the messages wait in the outbox (nothing could reach the worker)
        outage_rows = list(Notification.objects.filter(subject_id=wo.pk).order_by("id"))
        templates = {n.template for n in outage_rows}
        assert {"technician_assigned", "technician_departed", "survey_invite"} <= templates
        assert {n.status for n in outage_rows} == {"pending"}
        assert provider.requests == []
        # ... /readyz says what is down, /healthz that the process is alive
        ready = anonymous.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["cache"]["ok"] is False and body["checks"]["broker"]["ok"] is False
        assert body["outbox"]["pending"] == len(outage_rows)
        assert anonymous.get("/healthz").status_code == 200

        # When Redis comes back (empty, on the same port)
        server.start()

        # Then each message written during the outage is sent, once
        def all_sent():
            return all(n.status == "sent" for n in Notification.objects.filter(subject_id=wo.pk))

        wait_until(all_sent, timeout=60, what="the outage's messages to be sent", logs=worker.logs)
        sms_rows = [n for n in outage_rows if n.channel == "sms"]
        wait_until(lambda: len(provider.on("/sms")) >= len(sms_rows), timeout=10, what="the SMS at the provider")
        sweeps = worker.log("beat").count("notifications-sweep")
        wait_until(lambda: worker.log("beat").count("notifications-sweep") >= sweeps + 3, timeout=20,
                   what="three more outbox sweeps", logs=worker.logs)
        assert sorted(r["json"]["to"] for r in provider.on("/sms")) == sorted(n.recipient for n in sms_rows)
        assert {n.attempts for n in Notification.objects.filter(subject_id=wo.pk)} == {1}
        # ... the sessions begun during the outage still hold, and /readyz is green again
        assert dispatcher.get(reverse("staff:detail", args=[wo.pk])).status_code == 200
        assert tech.get(reverse("tech:job", args=[wo.pk])).status_code == 200
        wait_until(lambda: anonymous.get("/readyz").status_code == 200, timeout=10, what="/readyz to be green")
        assert all(status < 500 for path, status in statuses if path != "/readyz"), statuses
    finally:
        worker.stop()
