"""Arrive with the photos before the work from the API (multipart) and the office's detail page,
on a service type whose flow asks for them: photos and step in one transaction through
``services.workorder_arrive``; a refused step keeps no photo and no file."""

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import ServiceType
from tests.factories import ServiceTypeFactory
from tests.technicians.helpers import job_for, photo_upload
from workorders.lifecycle import Status
from workorders.models import Attachment
from workorders.services import MAX_STEP_PHOTOS

pytestmark = pytest.mark.django_db


def _type(**flow) -> ServiceType:
    service_type = ServiceTypeFactory()
    for name, value in flow.items():
        setattr(service_type, name, value)
    service_type.full_clean()
    service_type.save()
    return service_type


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _url(wo) -> str:
    return f"/api/v1/work-orders/{wo.pk}/transitions/"


@pytest.fixture
def api(technician):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(technician.user)
    return client


@pytest.fixture
def arriving(technician):
    """An order on the way, of a type that asks for two photos before the work."""
    return job_for(technician, status=Status.EN_ROUTE, service_type=_type(before_photos_min=2))


# --- the API ------------------------------------------------------------------------------


def test_the_api_arrives_with_its_photos_as_multipart(api, arriving, settings):
    response = api.post(_url(arriving), {
        "action": "arrive", "note": "At the door", "latitude": "31.23", "longitude": "121.47",
        "photos": [photo_upload("a.jpg"), photo_upload("b.jpg")],
    }, format="multipart")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == Status.IN_PROGRESS
    detail = api.get(f"/api/v1/work-orders/{arriving.pk}/").json()
    assert [a["kind"] for a in detail["attachments"]] == ["before_photo", "before_photo"]
    assert {a["original_name"] for a in detail["attachments"]} == {"a.jpg", "b.jpg"}
    arrived = [e for e in detail["events"] if e["action"] == "arrive"]
    assert arrived and arrived[0]["note"] == "At the door" and arrived[0]["latitude"] == pytest.approx(31.23)
    assert len(stored_files(settings)) == 2


def test_too_few_photos_are_refused_naming_photos_and_nothing_is_kept(api, arriving, settings):
    response = api.post(_url(arriving), {"action": "arrive", "photos": [photo_upload("a.jpg")]},
                        format="multipart")

    assert response.status_code == 400
    assert response.json()["fields"]["photos"] == ["Take 2 photos before starting the work."]
    arriving.refresh_from_db()
    assert arriving.status == Status.EN_ROUTE
    assert not Attachment.objects.filter(work_order=arriving).exists()
    assert stored_files(settings) == []


def test_a_json_arrive_is_still_refused_naming_photos(api, arriving):
    response = api.post(_url(arriving), {"action": "arrive"}, format="json")
    assert response.status_code == 400 and "photos" in response.json()["fields"]


def test_a_bad_image_is_refused_naming_photos_and_nothing_is_kept(api, arriving, settings):
    response = api.post(_url(arriving), {"action": "arrive", "photos": [
        photo_upload("a.jpg"), photo_upload("b.jpg", content=b"not a picture")]}, format="multipart")

    assert response.status_code == 400 and "photos" in response.json()["fields"]
    assert not Attachment.objects.filter(work_order=arriving).exists() and stored_files(settings) == []


def test_more_photos_than_a_step_takes_are_refused(api, arriving, settings):
    photos = [photo_upload(f"p{i}.jpg", content=photo_upload().read()) for i in range(MAX_STEP_PHOTOS + 1)]
    response = api.post(_url(arriving), {"action": "arrive", "photos": photos}, format="multipart")

    assert response.status_code == 400
    assert response.json()["fields"]["photos"] == [f"Attach at most {MAX_STEP_PHOTOS} photos."]
    assert not Attachment.objects.filter(work_order=arriving).exists() and stored_files(settings) == []


def test_a_body_over_the_limit_is_413_and_nothing_is_kept(api, arriving, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = api.post(_url(arriving), {"action": "arrive", "photos": [photo_upload("a.jpg"), photo_upload("b.jpg")]},
                        format="multipart")

    assert response.status_code == 413 and response.json()["error"] == "too_large"
    arriving.refresh_from_db()
    assert arriving.status == Status.EN_ROUTE and stored_files(settings) == []


@pytest.mark.parametrize("action", ["hold", "depart"])
def test_photos_on_another_action_are_refused_and_nothing_changes(api, technician, settings, action):
    wo = job_for(technician, status=Status.EN_ROUTE)
    events = wo.events.count()

    response = api.post(_url(wo), {"action": action, "note": "Traffic", "photos": [photo_upload("a.jpg")]},
                        format="multipart")

    assert response.status_code == 400
    assert response.json()["fields"]["photos"] == [f"Only arrive takes photos; send {action} without them."]
    wo.refresh_from_db()
    assert wo.status == Status.EN_ROUTE and wo.events.count() == events
    assert not Attachment.objects.filter(work_order=wo).exists() and stored_files(settings) == []


def test_photos_as_text_or_under_another_name_are_refused(api, arriving, settings):
    as_text = api.post(_url(arriving), {"action": "arrive", "photos": "a.jpg"}, format="multipart")
    assert as_text.status_code == 400 and as_text.json()["fields"]["photos"] == ["Send each photo as a file."]

    other = api.post(_url(arriving), {"action": "arrive", "photo": [photo_upload()]}, format="multipart")
    assert other.status_code == 400 and "photo" in other.json()["fields"]
    arriving.refresh_from_db()
    assert arriving.status == Status.EN_ROUTE and stored_files(settings) == []


def test_an_order_the_caller_may_not_see_is_404_and_nothing_is_kept(other_technician, arriving, settings):
    stranger = APIClient()
    stranger.force_login(other_technician.user)

    response = stranger.post(_url(arriving), {
        "action": "arrive", "photos": [photo_upload("a.jpg"), photo_upload("b.jpg")]}, format="multipart")

    assert response.status_code == 404
    assert not Attachment.objects.filter(work_order=arriving).exists() and stored_files(settings) == []


def test_multipart_is_only_arrive_with_photos(api, technician, arriving):
    wo = job_for(technician, status=Status.ACCEPTED)
    depart = api.post(_url(wo), {"action": "depart"}, format="multipart")
    assert depart.status_code == 400 and "action" in depart.json()["fields"]
    bare = api.post(_url(arriving), {"action": "arrive"}, format="multipart")
    assert bare.status_code == 400 and "photos" in bare.json()["fields"]
    wo.refresh_from_db()
    arriving.refresh_from_db()
    assert (wo.status, arriving.status) == (Status.ACCEPTED, Status.EN_ROUTE)
    # As JSON the same steps are as before.
    assert api.post(_url(wo), {"action": "depart"}, format="json").status_code == 200


def test_photos_on_a_type_that_asks_for_none_are_kept(api, technician):
    wo = job_for(technician, status=Status.EN_ROUTE)
    response = api.post(_url(wo), {"action": "arrive", "photos": [photo_upload("a.jpg")]}, format="multipart")
    assert response.status_code == 200
    assert wo.attachments.filter(kind=Attachment.Kind.BEFORE_PHOTO).count() == 1


def test_the_schema_describes_the_multipart_arrive(agent):
    client = APIClient()
    client.force_login(agent)
    schema = client.get("/api/schema/?format=json").json()
    body = schema["paths"]["/api/v1/work-orders/{id}/transitions/"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    components = schema["components"]["schemas"]
    upload = components[body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
    action = upload["properties"]["action"]
    assert components[(action.get("$ref") or action["allOf"][0]["$ref"]).rsplit("/", 1)[1]]["enum"] == ["arrive"]
    assert upload["required"] == ["action", "photos"]
    photos = upload["properties"]["photos"]
    assert photos["items"]["format"] == "binary" and photos["maxItems"] == MAX_STEP_PHOTOS


# --- the office's detail page -----------------------------------------------------------------


def _page(client, wo) -> str:
    return client.get(reverse("staff:detail", args=[wo.pk])).content.decode()


def test_the_detail_page_arrives_with_the_photos_the_type_asks_for(technician, arriving, settings):
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(technician.user)
    page = _page(web, arriving)
    form = page.split('name="action" value="arrive"')[0].rsplit("<form", 1)[1]
    assert 'enctype="multipart/form-data"' in form
    assert 'name="photos"' in page and "multiple" in page and 'accept="image/' in page
    assert "Photos before the work (at least 2, required)" in page

    refused = web.post(reverse("staff:transition", args=[arriving.pk]), {"action": "arrive"}, follow=True)
    assert "Take 2 photos before starting the work." in refused.content.decode()
    arriving.refresh_from_db()
    assert arriving.status == Status.EN_ROUTE and not Attachment.objects.filter(work_order=arriving).exists()

    done = web.post(reverse("staff:transition", args=[arriving.pk]),
                    {"action": "arrive", "photos": [photo_upload("a.jpg"), photo_upload("b.jpg")]})
    assert done.status_code == 302
    arriving.refresh_from_db()
    assert arriving.status == Status.IN_PROGRESS
    assert arriving.attachments.filter(kind=Attachment.Kind.BEFORE_PHOTO).count() == 2
    assert len(stored_files(settings)) == 2


def test_the_detail_page_refuses_too_few_photos_and_keeps_none(technician, arriving, settings):
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(technician.user)
    refused = web.post(reverse("staff:transition", args=[arriving.pk]),
                       {"action": "arrive", "photos": [photo_upload("a.jpg")]}, follow=True)
    assert "Take 2 photos before starting the work." in refused.content.decode()
    arriving.refresh_from_db()
    assert arriving.status == Status.EN_ROUTE
    assert not Attachment.objects.filter(work_order=arriving).exists() and stored_files(settings) == []


def test_the_detail_page_shows_the_refusal_in_chinese(technician, arriving):
    web = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    web.force_login(technician.user)
    assert "施工前照片（至少 2 张，必填）" in _page(web, arriving)
    refused = web.post(reverse("staff:transition", args=[arriving.pk]),
                       {"action": "hold", "note": "堵车", "photos": [photo_upload("a.jpg")]}, follow=True)
    assert "只有到达（arrive）可附照片" in refused.content.decode()


def test_a_type_without_before_photos_keeps_the_plain_arrive_form(technician):
    wo = job_for(technician, status=Status.EN_ROUTE)
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(technician.user)
    page = _page(web, wo)
    assert 'name="action" value="arrive"' in page
    assert 'name="photos"' not in page and "multipart/form-data" not in page
    web.post(reverse("staff:transition", args=[wo.pk]), {"action": "arrive"})
    wo.refresh_from_db()
    assert wo.status == Status.IN_PROGRESS


def test_a_request_with_more_files_than_any_form_takes_is_refused_before_it_is_read(technician, arriving, settings):
    # DATA_UPLOAD_MAX_NUMBER_FILES (12): each file is held in memory while the request is read, so a
    # 13th file stops the reading (a plain 400) before any view counts the photos.
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES == 12
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(technician.user)
    refused = web.post(reverse("staff:transition", args=[arriving.pk]),
                       {"action": "arrive", "photos": [photo_upload(f"p{i}.jpg") for i in range(13)]})
    assert refused.status_code == 400 and b"Attach at most" not in refused.content
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_login(technician.user)
    refused = api.post(_url(arriving), {"action": "arrive", "photos": [photo_upload(f"p{i}.jpg") for i in range(13)]},
                       format="multipart")
    assert refused.status_code == 400 and b"Attach at most" not in refused.content
    arriving.refresh_from_db()
    assert arriving.status == Status.EN_ROUTE
    assert not Attachment.objects.filter(work_order=arriving).exists() and stored_files(settings) == []


def test_photos_whose_rows_cannot_be_written_leave_no_file(technician, arriving, settings, monkeypatch):
    from django.db import DatabaseError

    from workorders.services import workorder_arrive

    saved = []

    def save(self, *args, **kwargs):
        if saved:
            raise DatabaseError("the database went away")
        saved.append(self)
        return original(self, *args, **kwargs)

    original = Attachment.save
    monkeypatch.setattr(Attachment, "save", save)
    with pytest.raises(DatabaseError):
        workorder_arrive(work_order_id=arriving.pk, actor=technician.user,
                         photos=[photo_upload("a.jpg"), photo_upload("b.jpg")])
    arriving.refresh_from_db()
    assert arriving.status == Status.EN_ROUTE
    assert not Attachment.objects.filter(work_order=arriving).exists() and stored_files(settings) == []
