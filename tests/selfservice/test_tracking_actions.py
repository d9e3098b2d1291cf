"""Self-service from the tracking link: cancel, add a note or photos, move the visit."""

import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from core import roles as R
from core.errors import Conflict
from notifications.models import Notification
from technicians.models import Shift
from tests.concurrency import race
from tests.factories import TechnicianFactory, UserFactory, WorkOrderFactory
from workorders.lifecycle import Status
from workorders.models import Attachment
from workorders.services import visit_window_version, workorder_reschedule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(fresh_rate_limits, settings):
    settings.SELF_SERVICE_CUTOFF_HOURS = 24
    settings.SELF_SERVICE_DAYS = 7


@pytest.fixture
def dispatcher_with_email(db):
    return UserFactory(username="dispatcher", email="dispatch@example.com", roles=[R.DISPATCHER])


def _png():
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 20, 20)).save(buffer, "PNG")
    return SimpleUploadedFile("leak.png", buffer.getvalue(), content_type="image/png")


def _at(days, hour):
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _working_every_day(technician, start=9, end=17):
    for weekday in range(7):
        Shift.objects.create(technician=technician, weekday=weekday, start=dt.time(start), end=dt.time(end))


@pytest.fixture
def booked(db):
    """An accepted order, its technician working 9-17 every day, booked in three days 10-12."""
    technician = TechnicianFactory()
    _working_every_day(technician)
    order = WorkOrderFactory(status=Status.ACCEPTED, technician=technician,
                             appointment_start=_at(3, 10), appointment_end=_at(3, 12))
    return order


# --- Cancel ------------------------------------------------------------------------------------


def test_customer_cancels_with_a_reason_and_the_dispatcher_is_told(client, dispatcher_with_email):
    order = WorkOrderFactory(status=Status.ASSIGNED, technician=TechnicianFactory())
    page = client.get(reverse("intake:track", args=[order.public_token])).content.decode()
    assert reverse("selfservice:cancel", args=[order.public_token]) in page

    response = client.post(reverse("selfservice:cancel", args=[order.public_token]), {"reason": "Fixed it myself"})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    event = order.events.order_by("-id").first()
    assert (event.action, event.actor_role, event.note) == ("cancel", R.CUSTOMER, "Fixed it myself")
    message = Notification.objects.get(template="customer_cancelled")
    assert message.recipient == "dispatch@example.com" and message.subject_id == order.pk
    page = client.get(reverse("intake:track", args=[order.public_token])).content.decode()
    assert "Your request was cancelled." in page
    assert reverse("selfservice:cancel", args=[order.public_token]) not in page


def test_cancel_needs_a_reason(client):
    order = WorkOrderFactory(status=Status.NEW)
    response = client.post(reverse("selfservice:cancel", args=[order.public_token]), {"reason": "   "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    order.refresh_from_db()
    assert order.status == Status.NEW and order.events.count() == 1


@pytest.mark.parametrize("status", [Status.EN_ROUTE, Status.IN_PROGRESS, Status.RESOLVED])
def test_no_cancel_once_the_technician_is_on_the_way(client, status):
    order = WorkOrderFactory(status=status, technician=TechnicianFactory())
    page = client.get(reverse("intake:track", args=[order.public_token])).content.decode()
    assert reverse("selfservice:cancel", args=[order.public_token]) not in page

    response = client.post(reverse("selfservice:cancel", args=[order.public_token]), {"reason": "Too late?"})

    assert response.status_code == 409
    assert "can no longer be cancelled here" in response.content.decode()
    order.refresh_from_db()
    assert order.status == status and order.events.count() == 1


def test_an_unknown_token_reaches_nothing(client):
    order = WorkOrderFactory(status=Status.NEW)
    wrong = ("y" if order.public_token[0] == "x" else "x") + order.public_token[1:]
    for name in ("cancel", "note", "reschedule"):
        assert client.post(reverse(f"selfservice:{name}", args=[wrong]),
                           {"reason": "r", "note": "n"}).status_code == 404
    order.refresh_from_db()
    assert order.status == Status.NEW and order.events.count() == 1


# --- Note and photos -------------------------------------------------------------------------


def test_customer_adds_a_note_and_a_photo(client):
    order = WorkOrderFactory(status=Status.ASSIGNED, technician=TechnicianFactory())
    response = client.post(reverse("selfservice:note", args=[order.public_token]),
                           {"note": "The gate code is 1234.", "photos": [_png()]})
    assert response.status_code == 302
    event = order.events.order_by("-id").first()
    assert (event.action, event.actor_role, event.note) == ("note", R.CUSTOMER, "The gate code is 1234.")
    photo = Attachment.objects.get(work_order=order)
    assert photo.kind == Attachment.Kind.CUSTOMER_PHOTO
    page = client.get(reverse("intake:track", args=[order.public_token])).content.decode()
    assert "You added a note or photos." in page
    assert reverse("intake:track-photo", args=[order.public_token, photo.pk]) in page


def test_a_file_that_is_not_an_image_is_refused(client):
    order = WorkOrderFactory(status=Status.NEW)
    fake = SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png")
    response = client.post(reverse("selfservice:note", args=[order.public_token]), {"note": "see", "photos": [fake]})
    assert response.status_code == 400
    assert order.events.count() == 1 and not Attachment.objects.filter(work_order=order).exists()


def test_an_empty_note_is_refused(client):
    order = WorkOrderFactory(status=Status.NEW)
    response = client.post(reverse("selfservice:note", args=[order.public_token]), {"note": "  "})
    assert response.status_code == 400
    assert "Write a note or attach a photo." in response.content.decode()
    assert order.events.count() == 1


# --- Reschedule --------------------------------------------------------------------------------


def _key(start, end):
    return f"{start.isoformat()}/{end.isoformat()}"


def _offered(client, order):
    response = client.get(reverse("selfservice:reschedule", args=[order.public_token]))
    assert response.status_code == 200
    form = response.context["form"]
    return form, response.content.decode()


def test_customer_moves_the_visit_and_the_dispatcher_and_board_see_it(client, booked, dispatcher_with_email):
    form, page = _offered(client, booked)
    new = (_at(4, 13), _at(4, 15))
    assert _key(*new) in form.windows
    # The technician's hours only: nothing before 9 or after 17, and not the current window.
    assert all(timezone.localtime(s).hour >= 9 and timezone.localtime(e).hour <= 17 for s, e in form.windows.values())
    assert _key(_at(3, 10), _at(3, 12)) not in form.windows

    response = client.post(reverse("selfservice:reschedule", args=[booked.public_token]),
                           {"window": _key(*new), "seen": form.initial["seen"]})

    assert response.status_code == 302
    booked.refresh_from_db()
    assert (booked.appointment_start, booked.appointment_end) == new
    assert booked.status == Status.ACCEPTED and booked.technician_id
    event = booked.events.order_by("-id").first()
    assert (event.action, event.actor_role) == ("reschedule", R.CUSTOMER)
    message = Notification.objects.get(template="customer_rescheduled")
    assert message.recipient == "dispatch@example.com"
    assert "13:00" in message.payload["after"]
    told = Notification.objects.get(template="technician_job_moved")
    assert told.recipient == booked.technician.phone and told.channel == Notification.Channel.SMS
    # The dispatch board reads the order's appointment.
    dispatcher_with_email.is_staff = True
    dispatcher_with_email.save()
    client.force_login(dispatcher_with_email)
    board = client.get(reverse("dispatch:board-data"), {"date": timezone.localdate(new[0]).isoformat()})
    assert board.status_code == 200
    assert timezone.localtime(new[0]).isoformat() in board.content.decode()


def test_a_window_already_taken_is_not_offered_nor_accepted(client, booked):
    other = WorkOrderFactory(status=Status.ASSIGNED, technician=booked.technician,
                             appointment_start=_at(4, 13), appointment_end=_at(4, 15))
    form, _page = _offered(client, booked)
    assert _key(_at(4, 13), _at(4, 15)) not in form.windows
    response = client.post(reverse("selfservice:reschedule", args=[booked.public_token]),
                           {"window": _key(_at(4, 13), _at(4, 15)), "seen": form.initial["seen"]})
    assert response.status_code == 400
    assert "That time is not offered any more" in response.content.decode()
    # The service refuses it too, without naming the other order.
    with pytest.raises(Conflict) as refused:
        workorder_reschedule(work_order_id=booked.pk, start=_at(4, 13), end=_at(4, 15),
                             seen=visit_window_version(booked))
    assert other.number not in str(refused.value.message)
    booked.refresh_from_db()
    assert booked.appointment_start == _at(3, 10) and booked.events.count() == 1


def test_after_the_visit_changed_meanwhile_the_page_shown_again_works(client, booked):
    form, _page = _offered(client, booked)
    # The dispatcher moves the visit while the customer is looking at the page.
    booked.appointment_start, booked.appointment_end = _at(4, 9), _at(4, 11)
    booked.save(update_fields=["appointment_start", "appointment_end"])
    url = reverse("selfservice:reschedule", args=[booked.public_token])

    response = client.post(url, {"window": _key(_at(5, 13), _at(5, 15)), "seen": form.initial["seen"]})

    assert response.status_code == 409
    page = response.content.decode()
    assert "changed meanwhile" in page
    # The page offers the windows as they are now (not the visit's new window) ...
    assert _key(_at(5, 13), _at(5, 15)) in response.context["form"].windows
    assert _key(_at(4, 9), _at(4, 11)) not in response.context["form"].windows
    # ... and choosing again on it, with what its form carries, goes through.
    seen = re.search(r'<input type="hidden" name="seen" value="([^"]*)"', page).group(1)
    assert client.post(url, {"window": _key(_at(5, 13), _at(5, 15)), "seen": seen}).status_code == 302
    booked.refresh_from_db()
    assert (booked.appointment_start, booked.appointment_end) == (_at(5, 13), _at(5, 15))


def test_no_move_within_the_cut_off(client, settings):
    technician = TechnicianFactory()
    _working_every_day(technician)
    soon = timezone.now() + dt.timedelta(hours=5)
    order = WorkOrderFactory(status=Status.ASSIGNED, technician=technician,
                             appointment_start=soon, appointment_end=soon + dt.timedelta(hours=2))
    with pytest.raises(Conflict, match="less than 24 hours away"):
        workorder_reschedule(work_order_id=order.pk, start=_at(4, 13), end=_at(4, 15),
                             seen=visit_window_version(order))
    order.refresh_from_db()
    assert order.appointment_start == soon and order.events.count() == 1


def test_no_window_sooner_than_the_cut_off_is_offered(client, booked):
    form, _page = _offered(client, booked)
    limit = timezone.now() + dt.timedelta(hours=24)
    assert form.windows and all(start >= limit for start, _end in form.windows.values())


def test_no_move_once_the_technician_is_on_the_way(client):
    order = WorkOrderFactory(status=Status.EN_ROUTE, technician=TechnicianFactory(),
                             appointment_start=_at(3, 10), appointment_end=_at(3, 12))
    response = client.post(reverse("selfservice:reschedule", args=[order.public_token]), {"window": "x", "seen": ""})
    assert response.status_code == 409
    assert "can no longer be moved" in response.content.decode()
    order.refresh_from_db()
    assert order.appointment_start == _at(3, 10)


@pytest.mark.django_db(transaction=True)
def test_two_moves_at_once_one_wins(booked):
    seen = visit_window_version(booked)
    results = race([
        lambda: workorder_reschedule(work_order_id=booked.pk, start=_at(4, 9), end=_at(4, 11), seen=seen),
        lambda: workorder_reschedule(work_order_id=booked.pk, start=_at(5, 13), end=_at(5, 15), seen=seen),
    ])
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 1 and "changed meanwhile" in str(refused[0].message)
    booked.refresh_from_db()
    assert booked.events.filter(action="reschedule").count() == 1
    assert (booked.appointment_start, booked.appointment_end) in ((_at(4, 9), _at(4, 11)), (_at(5, 13), _at(5, 15)))


@pytest.mark.django_db(transaction=True)
def test_two_orders_moved_to_the_same_free_window_at_once_one_wins(booked):
    other = WorkOrderFactory(status=Status.ASSIGNED, technician=booked.technician,
                             appointment_start=_at(3, 13), appointment_end=_at(3, 15))
    window = (_at(5, 9), _at(5, 11))
    results = race([
        lambda: workorder_reschedule(work_order_id=booked.pk, start=window[0], end=window[1],
                                     seen=visit_window_version(booked)),
        lambda: workorder_reschedule(work_order_id=other.pk, start=window[0], end=window[1],
                                     seen=visit_window_version(other)),
    ])
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 1 and "not free any more" in str(refused[0].message)
    booked.refresh_from_db()
    other.refresh_from_db()
    assert sorted([booked.appointment_start == window[0], other.appointment_start == window[0]]) == [False, True]


def test_unassigned_order_moves_its_preferred_time_within_business_hours(client):
    order = WorkOrderFactory(status=Status.NEW, preferred_start=_at(3, 10), preferred_end=_at(3, 12))
    form, _page = _offered(client, order)
    assert form.windows
    for start, end in form.windows.values():
        local = timezone.localtime(start)
        assert local.weekday() < 5 and 9 <= local.hour and timezone.localtime(end).hour <= 18
    key = next(iter(form.windows))
    response = client.post(reverse("selfservice:reschedule", args=[order.public_token]),
                           {"window": key, "seen": form.initial["seen"]})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.preferred_start, order.preferred_end) == form.windows[key]
    assert order.appointment_start is None
