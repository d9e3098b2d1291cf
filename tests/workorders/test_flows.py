"""A flow per service type (issue 22, item 3): the optional steps (review, follow-up, signature,
photos before and after, parts approval) and the roles per transition, derived from the one
lifecycle table; every variant driven through the services, the pages and the API; flows that
would strand orders refused; orders already past a changed step left alone."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from catalog.flows import DEFAULT_FLOW, flow_problems
from catalog.models import ServiceType
from completion.models import CompletionReport
from completion.services import APPROVE, PhotoUpload, completion_review, completion_submit
from core import roles as R
from core.errors import Conflict, Forbidden, InvalidInput
from tests.factories import ChecklistItemFactory, ServiceTypeFactory, WorkOrderFactory
from tests.inventory.helpers import part, put, van
from tests.technicians.helpers import completion_post, job_for, photo_upload, signature_png
from workorders.lifecycle import TRANSITIONS, Status, available_actions, transitions_for
from workorders.lifecycle import flow_problems as lifecycle_flow_problems
from workorders.models import Attachment, Survey
from workorders.services import workorder_transition
from workorders.services import Assignment, workorders_assign_many
from workorders.survey import survey_expire_due

pytestmark = pytest.mark.django_db


def _type(**flow) -> ServiceType:
    service_type = ServiceTypeFactory()
    for name, value in flow.items():
        setattr(service_type, name, value)
    service_type.full_clean()  # the flow is checked as admin and the API check it
    service_type.save()
    return service_type


def _complete(technician, wo, *, signature=True, signer="王芳", photos=0, parts=None):
    report, _created = completion_submit(
        work_order_id=wo.pk, actor=technician.user, submission_key=uuid.uuid4(), work_done="Fixed.",
        labour_minutes=30, signer_name=signer, signature=signature_png() if signature else None,
        photos=[PhotoUpload(photo_upload(f"p{i}.jpg")) for i in range(photos)], parts=parts or [],
    )
    wo.refresh_from_db()
    return report


# --- the default flow is today's table ------------------------------------------------------


def test_a_type_with_the_default_flow_reads_the_table_itself(service_type):
    assert transitions_for(service_type.pk) is TRANSITIONS
    assert lifecycle_flow_problems(DEFAULT_FLOW) == []
    for status in Status:
        assert available_actions(status, R.STAFF_ROLES, service_type.pk) == available_actions(status, R.STAFF_ROLES)


# --- every variant, driven from completion to the end -----------------------------------------


@pytest.mark.parametrize("review", [False, True], ids=["no-review", "review"])
@pytest.mark.parametrize("follow_up", [True, False], ids=["follow-up", "no-follow-up"])
@pytest.mark.parametrize("parts_approval,with_parts", [(False, False), (True, False), (True, True)],
                         ids=["no-parts-approval", "parts-approval-no-parts", "parts-approval-with-parts"])
def test_each_flow_takes_a_completed_order_where_it_says(technician, manager, review, follow_up, parts_approval,
                                                         with_parts):
    st = _type(requires_review=review, requires_follow_up=follow_up, requires_parts_approval=parts_approval)
    wo = job_for(technician, service_type=st)
    lines = None
    if with_parts:
        filter_ = part(part_number="FLT-1")
        put(van(technician), filter_, 5)
        lines = [("FLT-1", 1)]

    report = _complete(technician, wo, parts=lines)

    waits = review or (parts_approval and with_parts)
    moved_on = Status.FOLLOW_UP if follow_up else Status.CLOSED
    assert wo.status == (Status.RESOLVED if waits else moved_on)
    if waits:  # the managers' queue marks it
        web = Client()
        web.force_login(manager)
        assert "review required" in web.get(reverse("completion:reviews")).content.decode()
        completion_review(report_id=report.pk, actor=manager, decision=APPROVE)
        wo.refresh_from_db()
        assert wo.status == moved_on
    # The survey (回访) goes out only with a follow-up step.
    assert Survey.objects.filter(work_order=wo).exists() == follow_up
    if not follow_up:
        assert wo.closed_at is not None
        assert not wo.events.filter(action="follow_up").exists()


def test_without_follow_up_there_is_no_send_for_follow_up_and_close_leaves_from_resolved(service_type):
    st = _type(requires_follow_up=False, requires_review=True)
    rows = transitions_for(st.pk)
    assert rows["follow_up"].sources == frozenset()
    assert Status.RESOLVED in rows["close"].sources and Status.FOLLOW_UP in rows["close"].sources
    assert "follow_up" not in {t.action for t in available_actions(Status.RESOLVED, {R.MANAGER}, st.pk)}
    assert "follow_up" in {t.action for t in available_actions(Status.RESOLVED, {R.MANAGER}, service_type.pk)}


# --- signature and photos at completion --------------------------------------------------------


def test_a_type_without_signature_completes_unsigned_and_a_default_type_refuses(technician):
    unsigned = job_for(technician, service_type=_type(requires_signature=False))
    report = _complete(technician, unsigned, signature=False, signer="")
    assert report.signature is None and unsigned.status == Status.FOLLOW_UP

    signed = job_for(technician)
    with pytest.raises(InvalidInput) as refused:
        _complete(technician, signed, signature=False)
    assert "signature" in refused.value.fields
    signed.refresh_from_db()
    assert signed.status == Status.IN_PROGRESS


@pytest.mark.parametrize("given,ok", [(1, False), (2, True)])
def test_the_fewest_photos_after_the_work_are_enforced_naming_the_field(technician, given, ok):
    wo = job_for(technician, service_type=_type(after_photos_min=2))
    if ok:
        _complete(technician, wo, photos=given)
        assert wo.status == Status.FOLLOW_UP
    else:
        with pytest.raises(InvalidInput) as refused:
            _complete(technician, wo, photos=given)
        assert "photos" in refused.value.fields
        wo.refresh_from_db()
        assert wo.status == Status.IN_PROGRESS and not CompletionReport.objects.filter(work_order=wo).exists()


def test_the_phone_marks_the_required_photos_and_the_optional_signature(client, technician):
    wo = job_for(technician, service_type=_type(after_photos_min=2, requires_signature=False))
    client.force_login(technician.user)
    page = client.get(reverse("tech:complete", args=[wo.pk])).content.decode()
    assert "(at least 2, required)" in page and "(optional)" in page

    refused = client.post(reverse("tech:complete", args=[wo.pk]), completion_post(signature="", signer_name=""))
    assert refused.status_code == 400 and "Attach at least 2 photos of the work done." in refused.content.decode()

    done = client.post(reverse("tech:complete", args=[wo.pk]), completion_post(
        signature="", signer_name="", photos=[photo_upload("a.jpg"), photo_upload("b.jpg")]))
    assert done.status_code == 302
    assert CompletionReport.objects.get(work_order=wo).signature is None


# --- photos before the work, at arrival ----------------------------------------------------------


def test_arrival_asks_for_the_before_photos_on_the_phone_and_the_api(client, technician):
    wo = job_for(technician, status=Status.EN_ROUTE, service_type=_type(before_photos_min=1))
    client.force_login(technician.user)
    page = client.get(reverse("tech:job", args=[wo.pk])).content.decode()
    assert 'name="photos"' in page and "Photo before the work (at least 1, required)" in page

    api = APIClient()
    api.force_login(technician.user)
    response = api.post(f"/api/v1/work-orders/{wo.pk}/transitions/", {"action": "arrive"}, format="json")
    assert response.status_code == 400 and "photos" in response.json()["fields"]

    client.post(reverse("tech:status", args=[wo.pk]), {"action": "arrive"})
    wo.refresh_from_db()
    assert wo.status == Status.EN_ROUTE and not wo.attachments.exists()

    client.post(reverse("tech:status", args=[wo.pk]), {"action": "arrive", "photos": [photo_upload("before.jpg")]})
    wo.refresh_from_db()
    assert wo.status == Status.IN_PROGRESS
    assert wo.attachments.filter(kind=Attachment.Kind.BEFORE_PHOTO).count() == 1


def test_a_default_type_arrives_without_photos(technician):
    wo = job_for(technician, status=Status.EN_ROUTE)
    workorder_transition(work_order_id=wo.pk, action="arrive", actor=technician.user)
    wo.refresh_from_db()
    assert wo.status == Status.IN_PROGRESS


# --- roles per transition --------------------------------------------------------------------


def test_roles_per_transition_narrow_the_page_the_api_and_the_service(agent, manager, technician):
    st = _type(transition_roles={"cancel": [R.MANAGER, R.DISPATCHER], "hold": [R.DISPATCHER, R.MANAGER]})
    wo = WorkOrderFactory(service_type=st)
    web = Client()
    web.force_login(agent)
    page = web.get(reverse("staff:detail", args=[wo.pk])).content.decode()
    assert 'value="cancel"' not in page
    api = APIClient()
    api.force_login(agent)
    body = api.get(f"/api/v1/work-orders/{wo.pk}/").json()
    assert "cancel" not in {a["action"] for a in body["available_actions"]}
    refused = api.post(f"/api/v1/work-orders/{wo.pk}/transitions/", {"action": "cancel", "note": "dup"}, format="json")
    assert refused.status_code == 403
    wo.refresh_from_db()
    assert wo.status == Status.NEW
    # The same agent still cancels an order of a type with the default flow.
    other = WorkOrderFactory()
    assert api.post(f"/api/v1/work-orders/{other.pk}/transitions/", {"action": "cancel", "note": "dup"},
                    format="json").status_code == 200
    workorder_transition(work_order_id=wo.pk, action="cancel", actor=manager, note="dup")

    # The technician's phone: no hold on this type.
    job = job_for(technician, status=Status.IN_PROGRESS, service_type=st)
    web.force_login(technician.user)
    assert 'value="hold"' not in web.get(reverse("tech:job", args=[job.pk])).content.decode()
    with pytest.raises(Forbidden):
        workorder_transition(work_order_id=job.pk, action="hold", actor=technician.user, note="rain")


def test_bulk_assignment_refuses_the_orders_whose_flow_keeps_assign_from_the_caller(dispatcher, technician):
    st = _type(transition_roles={"assign": [R.MANAGER, R.SYSTEM, R.INTEGRATION]})
    narrowed, plain = WorkOrderFactory(service_type=st), WorkOrderFactory()
    result = workorders_assign_many(assignments=[Assignment(narrowed.pk, technician.pk),
                                                 Assignment(plain.pk, technician.pk)], actor=dispatcher)
    assert [row["work_order"] for row in result.refused] == [narrowed.pk]
    assert result.refused[0]["code"] == "forbidden"
    narrowed.refresh_from_db()
    assert narrowed.status == Status.NEW


def test_bulk_assignment_records_the_role_the_type_s_flow_lets_the_caller_assign_in(technician):
    from tests.factories import UserFactory

    both = UserFactory(username="both", roles=[R.DISPATCHER, R.MANAGER])
    st = _type(transition_roles={"assign": [R.MANAGER, R.SYSTEM, R.INTEGRATION]})
    wo = WorkOrderFactory(service_type=st)
    result = workorders_assign_many(assignments=[Assignment(wo.pk, technician.pk)], actor=both)
    assert not result.refused
    assert wo.events.get(action="assign").actor_role == R.MANAGER


# --- flows that would strand orders are refused ----------------------------------------------


@pytest.mark.parametrize("flow,words", [
    ({"requires_review": True, "transition_roles": {"follow_up": [R.SYSTEM]}}, "Manager must keep send for follow-up"),
    ({"transition_roles": {"close": []}}, "No role may close"),
    ({"transition_roles": {"follow_up": []}}, "Orders that are resolved would have no way out"),
    ({"requires_follow_up": False, "transition_roles": {"close": [R.MANAGER, R.CUSTOMER]}},
     "System must keep close"),
    ({"transition_roles": {"complete": []}}, "No role may complete"),
    ({"transition_roles": {"accept": ["agent"]}}, "accept cannot be given to agent"),
    ({"transition_roles": {"fly": ["agent"]}}, "Unknown transition fly"),
    ({"after_photos_min": 11}, "Ask for at most 10 photos"),
])
def test_a_flow_that_would_strand_orders_is_refused_with_the_reason(flow, words):
    st = ServiceTypeFactory()
    for name, value in flow.items():
        setattr(st, name, value)
    with pytest.raises(ValidationError) as refused:
        st.full_clean()
    assert words in " ".join(refused.value.messages)


def test_the_refusal_reads_in_chinese_too():
    st = ServiceTypeFactory(transition_roles={"close": []})
    with translation.override("zh-hans"):
        problems = flow_problems(st)
    assert problems and all(not p.isascii() for p in problems)


def test_admin_edits_the_flow_and_refuses_one_that_strands_orders(admin_client):
    st = ServiceTypeFactory()
    url = reverse("admin:catalog_servicetype_change", args=[st.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: value for name, value in _admin_data(form).items()}
    data["name_zh_hans"] = "空调保养"
    del data["requires_follow_up"]  # unticked: off
    data["roles_cancel"] = [R.MANAGER, R.DISPATCHER]
    saved = admin_client.post(url, data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    st.refresh_from_db()
    assert st.requires_follow_up is False and st.transition_roles == {"cancel": [R.DISPATCHER, R.MANAGER]}
    assert transitions_for(st.pk)["cancel"].roles == {R.MANAGER, R.DISPATCHER}  # the cache was dropped on save

    data["roles_close"] = []
    refused = admin_client.post(url, data)
    assert refused.status_code == 200
    assert "No role may close" in refused.content.decode()
    st.refresh_from_db()
    assert "close" not in st.transition_roles


def _admin_data(form) -> dict:
    """What the admin's change form posts as it stands (its fields and its inlines' management forms)."""
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value if isinstance(value, list) else str(value)
    for prefix in ("required_skills", "checklist_items", "custom_fields", "parts_needed"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def test_the_api_shows_the_flow_and_changes_it_from_a_version(manager):
    st = ServiceTypeFactory()
    api = APIClient()
    api.force_login(manager)
    url = f"/api/v1/service-types/{st.pk}/"
    read = api.get(url)
    body = read.json()
    assert body["requires_follow_up"] is True and body["requires_signature"] is True
    assert body["before_photos_min"] == 0 and body["transition_roles"] == {}

    refused = api.patch(url, {"transition_roles": {"close": []}}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert refused.status_code == 400 and "flow" in refused.json()["fields"]
    changed = api.patch(url, {"requires_follow_up": False, "before_photos_min": 1}, format="json",
                        HTTP_IF_MATCH=read["ETag"])
    assert changed.status_code == 200, changed.json()
    assert changed.json()["requires_follow_up"] is False
    st.refresh_from_db()
    assert st.before_photos_min == 1 and st.transition_roles == {}


# --- changing a flow never changes orders already past the step -------------------------------


def test_orders_waiting_in_follow_up_still_close_when_the_follow_up_is_switched_off(technician, manager):
    st = ServiceTypeFactory()
    waiting = job_for(technician, service_type=st)
    _complete(technician, waiting)
    assert waiting.status == Status.FOLLOW_UP
    expiring = job_for(technician, service_type=st)
    _complete(technician, expiring)

    st.requires_follow_up = False
    st.save()

    workorder_transition(work_order_id=waiting.pk, action="close", actor=manager, note="Called back")
    Survey.objects.filter(work_order=expiring).update(expires_at="2000-01-01T00:00:00Z")
    assert survey_expire_due() == 1
    for wo in (waiting, expiring):
        wo.refresh_from_db()
        assert wo.status == Status.CLOSED


def test_orders_already_past_arrival_or_completion_are_not_asked_for_the_new_photos(technician, manager):
    st = _type(requires_review=True)
    resolved = job_for(technician, service_type=st)
    report = _complete(technician, resolved)
    on_site = job_for(technician, service_type=st)

    st.before_photos_min = 2
    st.save()

    # Already on site: completes without before-photos; already resolved: its approval moves it on.
    _complete(technician, on_site)
    assert on_site.status == Status.RESOLVED
    completion_review(report_id=report.pk, actor=manager, decision=APPROVE)
    resolved.refresh_from_db()
    assert resolved.status == Status.FOLLOW_UP


def test_a_review_switched_off_while_reports_wait_still_lets_their_approval_move_the_order_on(technician, manager):
    st = _type(requires_review=True, requires_follow_up=False)
    wo = job_for(technician, service_type=st)
    report = _complete(technician, wo)
    st.requires_review = False
    st.save()
    completion_review(report_id=report.pk, actor=manager, decision=APPROVE)
    wo.refresh_from_db()
    assert wo.status == Status.CLOSED


# --- done when: inspection and maintenance ---------------------------------------------------


def test_an_inspection_needs_its_before_photo_and_checklist_on_the_phone_and_maintenance_skips_the_call_back(
    client, technician,
):
    from catalog.models import CustomField

    inspection = _type(before_photos_min=1)
    CustomField.objects.create(service_type=inspection, key="before_photo", label="Before photo",
                               kind=CustomField.Kind.PHOTO, required=True, stage=CustomField.Stage.COMPLETION)
    items = [ChecklistItemFactory(service_type=inspection, mandatory=True, text=f"Check {i}") for i in range(5)]
    wo = job_for(technician, status=Status.EN_ROUTE, service_type=inspection)
    client.force_login(technician.user)

    client.post(reverse("tech:status", args=[wo.pk]), {"action": "arrive"})
    wo.refresh_from_db()
    assert wo.status == Status.EN_ROUTE  # no before-photo taken: not started
    client.post(reverse("tech:status", args=[wo.pk]), {"action": "arrive", "photos": [photo_upload("b.jpg")]})
    wo.refresh_from_db()
    assert wo.status == Status.IN_PROGRESS

    refused = client.post(reverse("tech:complete", args=[wo.pk]), completion_post())
    assert refused.status_code == 400
    wo.refresh_from_db()
    assert wo.status == Status.IN_PROGRESS
    done = client.post(reverse("tech:complete", args=[wo.pk]), completion_post(
        checklist={item.pk: "done" for item in items}, custom_before_photo=photo_upload("before.jpg")))
    assert done.status_code == 302
    wo.refresh_from_db()
    assert wo.status == Status.FOLLOW_UP

    maintenance = _type(requires_follow_up=False)
    job = job_for(technician, service_type=maintenance)
    _complete(technician, job)
    assert job.status == Status.CLOSED and not Survey.objects.filter(work_order=job).exists()


def test_the_system_and_customer_roles_cannot_be_stripped_from_a_follow_up_close():
    st = ServiceTypeFactory(transition_roles={"close": [R.MANAGER, R.SYSTEM]})
    assert any("Customer must keep close" in p for p in flow_problems(st))


def test_a_report_whose_parts_wait_for_approval_is_not_invoiced_until_approved(technician, manager):
    from completion.invoicing import invoicing_pending

    st = _type(requires_parts_approval=True, requires_follow_up=False)
    wo = job_for(technician, service_type=st)
    put(van(technician), part(part_number="FLT-2"), 3)
    report = _complete(technician, wo, parts=[("FLT-2", 1)])
    assert wo.status == Status.RESOLVED
    workorder_transition(work_order_id=wo.pk, action="close", actor=manager, note="Closed by hand")
    assert not invoicing_pending().filter(pk=report.pk).exists()

    completion_review(report_id=report.pk, actor=manager, decision=APPROVE)
    assert invoicing_pending().filter(pk=report.pk).exists()


def test_the_customer_is_offered_cancel_only_where_the_flow_lets_them(service_type):
    from selfservice.selectors import may_cancel

    office_only = _type(transition_roles={"cancel": [R.AGENT, R.DISPATCHER, R.MANAGER, R.INTEGRATION]})
    assert may_cancel(WorkOrderFactory(service_type=service_type))
    assert not may_cancel(WorkOrderFactory(service_type=office_only))


# --- no path around the completion report's steps, none lost in the review queue ----------------


def test_a_bare_complete_is_refused_where_the_flow_asks_for_photos_after_the_work(technician):
    wo = job_for(technician, service_type=_type(after_photos_min=1))
    with pytest.raises(Conflict) as refused:
        workorder_transition(work_order_id=wo.pk, action="complete", actor=technician.user)
    assert refused.value.code == "report_required"
    wo.refresh_from_db()
    assert wo.status == Status.IN_PROGRESS and not wo.events.filter(action="complete").exists()
    api = APIClient()
    api.force_authenticate(technician.user)
    answer = api.post(f"/api/v1/work-orders/{wo.pk}/transitions/", {"action": "complete"}, format="json")
    assert answer.status_code == 409 and answer.json()["error"] == "report_required"
    # The completion report, with what the flow asks, completes it.
    _complete(technician, wo, photos=1)
    assert wo.status in (Status.RESOLVED, Status.FOLLOW_UP)


def test_a_bare_complete_still_resolves_an_order_of_the_default_flow(technician, service_type):
    wo = job_for(technician, service_type=service_type)
    workorder_transition(work_order_id=wo.pk, action="complete", actor=technician.user)
    wo.refresh_from_db()
    assert wo.status != Status.IN_PROGRESS


def test_a_report_holding_its_order_comes_first_in_the_review_queue_however_many_others_wait(technician):
    from completion.selectors import completion_review_queue

    no_review = _type()
    for _ in range(3):  # reports of a type without a review stay pending once their orders moved on
        _complete(technician, job_for(technician, service_type=no_review))
    holding = job_for(technician, service_type=_type(requires_parts_approval=True))
    put(van(technician), part(part_number="CAP-1"), 5)
    report = _complete(technician, holding, parts=[("CAP-1", 1)])
    assert holding.status == Status.RESOLVED
    assert [r.pk for r in completion_review_queue(limit=2)][0] == report.pk
