"""A Celery worker killed (SIGKILL) in the middle of sending an SMS, with real worker processes
on Redis and PostgreSQL and a local SMS provider that honours ``Idempotency-Key``.

What the outbox promises (docs/operations.md): a message is claimed just before it is sent
and marked sent as soon as the provider answers. A worker that dies after the provider
accepted a message and before that answer was recorded leaves it claimed; when the claim
lapses, another worker sends it again - with the same ``Idempotency-Key``, so the provider
sends it once. Messages the dead worker had not reached were not claimed: they go out once.
"""

import uuid

import pytest
from django.db import connection

from notifications.models import Notification
from notifications.services import notification_build, notifications_add

from .support import CeleryProcesses, IdempotentSmsProvider, database_url, redis_reachable, redis_url, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

LEASE_SECONDS = 12
HELD = "+8613700000002"


@pytest.fixture
def broker():
    url = redis_url()
    if not redis_reachable(url):
        pytest.skip(f"no Redis reachable at {url}; start redis-server or set REDIS_URL")
    return url


def test_an_sms_whose_worker_was_killed_mid_send_goes_out_once_under_its_key(broker, settings, tmp_path):
    from django.conf import settings as django_settings

    # Given three SMS in the outbox, and a provider that holds back its answer to the second ...
    provider = IdempotentSmsProvider(hold=HELD)
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0
    rows = notifications_add([
        notification_build(channel="sms", recipient=f"+861370000000{i}", template="survey_reminder",
                           payload={"number": f"WO-2026-00000{i}", "link": "https://service.example.com/s/"})
        for i in (1, 2, 3)
    ])
    keys = {row.recipient: str(row.delivery_key) for row in rows}
    queue = f"test-{uuid.uuid4().hex[:12]}"
    procs = CeleryProcesses(
        broker=broker, queue=queue, database=database_url(django_settings.DATABASES["default"]), tmp_path=tmp_path,
        env={"SMS_API_URL": f"{provider.url}/sms", "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
             "NOTIFY_HTTP_TIMEOUT": "4", "EMAIL_TIMEOUT": "4"},
    )
    try:
        procs.start()
        procs.wait_ready()
        # ... when the worker's sweep has sent the first and the provider has accepted the second,
        # the worker is killed before the provider's answer reaches it.
        assert provider.held.wait(60), procs.logs()
        procs.procs["worker"].kill()
        procs.procs["worker"].wait(10)
        provider.release()

        status = dict(Notification.objects.filter(pk__in=[r.pk for r in rows]).values_list("recipient", "status"))
        assert status == {"+8613700000001": "sent", HELD: "sending", "+8613700000003": "pending"}, (
            "each message is claimed when it is sent, so the third was never claimed")

        # Then a new worker sends the third at once, and the second when its claim lapses.
        lapses_at = Notification.objects.get(recipient=HELD).next_attempt_at
        procs._spawn("worker2", ["worker", "--pool=solo", "-Q", queue, "-n", f"{queue}-2@%h", "--without-gossip",
                                 "--without-mingle", "--without-heartbeat", "--loglevel=INFO"])
        wait_until(lambda: not Notification.objects.filter(pk__in=[r.pk for r in rows]).exclude(status="sent").exists(),
                   timeout=LEASE_SECONDS + 45, what="every message sent", logs=procs.logs)
    finally:
        procs.stop()
        provider.close()
        connection.close()

    # The provider saw the held message's key twice - accepted once, the repeat answered
    # without sending - and every other message's key once.
    assert [r["key"] for r in provider.requests_with(keys[HELD])] == [keys[HELD]] * 2
    for recipient in ("+8613700000001", "+8613700000003"):
        assert len(provider.requests_with(keys[recipient])) == 1, recipient
    assert sorted(provider.accepted) == sorted(keys.values()), "each message went out once"
    held = Notification.objects.get(recipient=HELD)
    assert held.attempts == 2
    assert held.sent_at >= lapses_at, "not before its claim lapsed"
