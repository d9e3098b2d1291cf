"""The mailbox poll against a real IMAP server (pymap, in memory, on a local port): unseen
messages become orders once, and are marked seen."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from imap_tools import AND, MailBoxUnencrypted

from email_intake.models import InboundEmail
from email_intake.tasks import mailbox_poll
from tests.factories import CustomerFactory, ServiceTypeFactory, SiteFactory
from workorders.models import WorkOrder

from .test_email_intake import mail

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def imap_server(settings):
    port = _free_port()
    pymap = Path(sys.executable).with_name("pymap")
    process = subprocess.Popen(
        [str(pymap), "--host", "127.0.0.1", "--port", str(port), "--no-service", "managesieve",
         "--no-service", "admin", "dict", "--demo-data", "--demo-user", "intake", "--demo-password", "pw"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("the IMAP server did not start")
            time.sleep(0.1)
    settings.EMAIL_INTAKE_IMAP_HOST, settings.EMAIL_INTAKE_IMAP_PORT = "127.0.0.1", port
    settings.EMAIL_INTAKE_IMAP_SSL = False
    settings.EMAIL_INTAKE_IMAP_USER, settings.EMAIL_INTAKE_IMAP_PASSWORD = "intake", "pw"
    settings.EMAIL_INTAKE_IMAP_FOLDER = "Service"
    with MailBoxUnencrypted("127.0.0.1", port).login("intake", "pw") as box:
        box.folder.create("Service")
    yield port
    process.terminate()
    process.wait(timeout=10)


def test_unseen_messages_become_orders_once_and_are_marked_seen(imap_server, settings):
    ServiceTypeFactory(code="general-repair")
    settings.EMAIL_INTAKE_SERVICE_TYPE = "general-repair"
    customer = CustomerFactory(email="li.wei@example.cn")
    SiteFactory(customer=customer)
    with MailBoxUnencrypted("127.0.0.1", imap_server).login("intake", "pw", "Service") as box:
        box.append(mail(), "Service")
        box.append(mail(message_id="<m2@x>", sender="stranger@example.org"), "Service")
        box.append(mail(), "Service")  # the same message delivered twice

    assert mailbox_poll() == {"created": 1, "unmatched": 1, "duplicate": 1}
    assert WorkOrder.objects.get().channel == "email" and InboundEmail.objects.count() == 2
    with MailBoxUnencrypted("127.0.0.1", imap_server).login("intake", "pw", "Service") as box:
        assert list(box.fetch(AND(seen=False), mark_seen=False)) == []
    assert mailbox_poll() == {}  # nothing new


def test_no_host_no_poll(settings):
    settings.EMAIL_INTAKE_IMAP_HOST = ""
    assert mailbox_poll() == {}
