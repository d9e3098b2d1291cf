"""Email becomes a work order: a customer on file writes in, replies land on their order as
notes, the same message twice makes one order, and what cannot be matched waits for an agent."""

from email.message import EmailMessage

import pytest
from django.urls import reverse

from email_intake.models import InboundEmail
from email_intake.services import email_receive
from tests.factories import CustomerFactory, ServiceTypeFactory, SiteFactory, WorkOrderFactory
from tests.technicians.helpers import jpeg_bytes
from workorders.models import Attachment, WorkOrder

pytestmark = pytest.mark.django_db


def mail(*, sender="li.wei@example.cn", subject="Air conditioner not cooling", text="It blows warm air since Monday.",
         message_id="<m1@mail.example.cn>", images=(), html=None, **headers) -> bytes:
    message = EmailMessage()
    message["From"] = f"Li Wei <{sender}>"
    message["To"] = "service@fieldservice.example"
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for i, data in enumerate(images):
        message.add_attachment(data, maintype="image", subtype="jpeg", filename=f"photo{i}.jpg")
    return message.as_bytes()


@pytest.fixture
def li(db):
    customer = CustomerFactory(name="Li Wei", email="Li.Wei@example.cn", language="zh-hans")
    SiteFactory(customer=customer, address="1 Old Road, Minhang")
    site = SiteFactory(customer=customer, address="88 Century Avenue, Pudong")
    return customer, site


@pytest.fixture(autouse=True)
def _service_type(db, settings):
    ServiceTypeFactory(code="general-repair", name="General repair")
    settings.EMAIL_INTAKE_SERVICE_TYPE = "general-repair"


def test_a_customer_on_file_writes_in_and_gets_a_work_order_at_their_latest_site(li):
    customer, site = li
    received = email_receive(mail(images=[jpeg_bytes()]), source="webhook")

    order = received.record.work_order
    assert received.record.outcome == InboundEmail.Outcome.CREATED
    assert order.channel == WorkOrder.Channel.EMAIL and order.customer == customer and order.site == site
    assert order.service_type.code == "general-repair"
    assert order.description.startswith("Air conditioner not cooling") and "warm air" in order.description
    assert order.contact_email == "li.wei@example.cn" and order.contact_phone == customer.phone
    photo = order.attachments.get()
    assert photo.kind == Attachment.Kind.CUSTOMER_PHOTO and photo.content_type == "image/jpeg"


def test_the_same_message_twice_makes_one_order(li):
    first = email_receive(mail(), source="imap")
    again = email_receive(mail(), source="webhook")
    assert again.duplicate and again.record.pk == first.record.pk
    assert WorkOrder.objects.count() == 1 and InboundEmail.objects.count() == 1


def test_a_reply_naming_the_order_becomes_a_note_without_the_quoted_history(li):
    customer, _site = li
    order = email_receive(mail(), source="imap").record.work_order
    reply = mail(message_id="<m2@mail.example.cn>", subject=f"Re: [{order.number}] We received your request",
                 text="Tomorrow afternoon suits me.\n\nOn Mon, 7 Dec 2026 Field Service wrote:\n> Your request was received",
                 images=[jpeg_bytes(color="red")])
    received = email_receive(reply, source="imap")

    assert received.record.outcome == InboundEmail.Outcome.NOTED and received.record.work_order == order
    note = order.events.get(action="note")
    assert note.note == "Tomorrow afternoon suits me." and note.actor_role == "customer"
    assert WorkOrder.objects.count() == 1 and order.attachments.count() == 1
    order.refresh_from_db()
    assert order.updated_at >= note.created_at


def test_the_staff_see_the_emailed_note_on_the_order(client, agent, li):
    order = email_receive(mail(), source="imap").record.work_order
    email_receive(mail(message_id="<m9@x>", subject=f"Re: {order.number}", text="The code on the display is E4."),
                  source="imap")
    client.force_login(agent)
    page = client.get(reverse("staff:detail", args=[order.pk])).content.decode()
    assert "Note added" in page and "The code on the display is E4." in page


def test_a_stranger_naming_someone_elses_order_adds_nothing_to_it(li):
    order = WorkOrderFactory(contact_email="owner@example.cn")
    received = email_receive(mail(sender="someone@elsewhere.example", subject=f"Re: {order.number}"), source="imap")
    assert received.record.outcome == InboundEmail.Outcome.UNMATCHED
    assert not order.events.filter(action="note").exists()


def test_a_reply_to_a_closed_order_waits_for_an_agent(li):
    order = email_receive(mail(), source="imap").record.work_order
    WorkOrder.objects.filter(pk=order.pk).update(status="closed")
    received = email_receive(mail(message_id="<m3@x>", subject=f"Re: {order.number}", text="It broke again."),
                             source="imap")
    assert received.record.outcome == InboundEmail.Outcome.UNMATCHED and received.record.work_order == order
    assert "no longer open" in received.record.reason and not order.events.filter(action="note").exists()


def test_an_unknown_sender_waits_for_an_agent_who_marks_it_handled(client, agent, li):
    received = email_receive(mail(sender="new.person@example.org", text="我家热水器不出热水"), source="webhook")
    record = received.record
    assert record.outcome == InboundEmail.Outcome.UNMATCHED and WorkOrder.objects.count() == 0

    client.force_login(agent)
    inbox = client.get(reverse("email_intake:inbox")).content.decode()
    assert reverse("email_intake:detail", args=[record.pk]) in inbox
    detail = client.get(reverse("email_intake:detail", args=[record.pk])).content.decode()
    assert "我家热水器不出热水" in detail and "new.person@example.org" in detail

    order = WorkOrderFactory()
    bad = client.post(reverse("email_intake:handled", args=[record.pk]), {"work_order": "WO-1999-999999"}, follow=True)
    assert "No work order WO-1999-999999" in bad.content.decode()
    record.refresh_from_db()
    assert record.outcome == InboundEmail.Outcome.UNMATCHED
    client.post(reverse("email_intake:handled", args=[record.pk]), {"work_order": order.number})
    record.refresh_from_db()
    assert record.outcome == InboundEmail.Outcome.HANDLED and record.work_order == order and record.handled_by == agent


def test_the_inbox_is_for_office_roles_only(client, technician, li):
    record = email_receive(mail(sender="x@example.org"), source="webhook").record
    client.force_login(technician.user)
    assert client.get(reverse("email_intake:inbox")).status_code == 404
    assert client.get(reverse("email_intake:detail", args=[record.pk])).status_code == 404
    assert client.post(reverse("email_intake:handled", args=[record.pk])).status_code == 404
    record.refresh_from_db()
    assert record.outcome == InboundEmail.Outcome.UNMATCHED


def test_an_html_only_message_is_read_as_text(li):
    message = EmailMessage()
    message["From"], message["Subject"], message["Message-ID"] = "li.wei@example.cn", "Leak", "<h@x>"
    message.set_content("<p>Water under the <b>sink</b></p><p>since&nbsp;today</p><script>x()</script>", subtype="html")
    order = email_receive(message.as_bytes(), source="imap").record.work_order
    assert "Water under the sink" in order.description and "<" not in order.description and "x()" not in order.description


@pytest.mark.parametrize("headers", [{"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}])
def test_automatic_replies_are_dropped_so_no_mail_loop_starts(li, headers):
    received = email_receive(mail(**headers), source="imap")
    assert received.record is None and InboundEmail.objects.count() == 0 and WorkOrder.objects.count() == 0


def test_a_flood_from_one_sender_is_cut_off(li, settings):
    settings.EMAIL_INTAKE_PER_SENDER_PER_HOUR = 3
    results = [email_receive(mail(message_id=f"<flood{i}@x>"), source="imap") for i in range(5)]
    assert [r.record is not None for r in results] == [True, True, True, False, False]
    assert results[-1].reason == "too many from this sender"


def test_an_oversized_message_is_dropped(li, settings):
    settings.EMAIL_INTAKE_MAX_BYTES = 2000
    received = email_receive(mail(text="x" * 5000), source="imap")
    assert received.record is None and received.reason == "too large" and WorkOrder.objects.count() == 0


def test_a_customer_with_no_address_on_file_waits_for_an_agent(db):
    CustomerFactory(email="nosite@example.cn")
    record = email_receive(mail(sender="nosite@example.cn"), source="imap").record
    assert record.outcome == InboundEmail.Outcome.UNMATCHED and record.reason == "The customer has no address on file."


def test_the_webhook_takes_a_raw_message_with_its_secret(client, li, settings):
    url = reverse("email_intake:webhook")
    assert client.post(url, mail(), content_type="message/rfc822").status_code == 404  # no secret set: off
    settings.EMAIL_INTAKE_WEBHOOK_SECRET = "s3cret-value"
    assert client.post(url, mail(), content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert WorkOrder.objects.count() == 0
    response = client.post(url, mail(), content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer s3cret-value")
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "created" and body["work_order"] == WorkOrder.objects.get().number
    again = client.post(url, mail(), content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer s3cret-value").json()
    assert again["duplicate"] is True and WorkOrder.objects.count() == 1
    settings.EMAIL_INTAKE_MAX_BYTES = 100
    too_big = client.post(url, mail(message_id="<big@x>"), content_type="message/rfc822",
                          HTTP_AUTHORIZATION="Bearer s3cret-value")
    assert too_big.status_code == 413 and WorkOrder.objects.count() == 1
