"""The manager's review: approve, or send back with a comment the technician sees and answers."""

import uuid

import pytest
from django.urls import reverse

from completion.models import CompletionReport
from completion.services import completion_review, completion_submit
from core.errors import Conflict, Forbidden, InvalidInput
from tests.factories import ServiceTypeFactory
from tests.technicians.helpers import job_for, signature_png
from workorders.lifecycle import Status

pytestmark = pytest.mark.django_db


def _complete(technician, **job_kwargs):
    wo = job_for(technician, **job_kwargs)
    report, _ = completion_submit(work_order_id=wo.pk, actor=technician.user, submission_key=uuid.uuid4(),
                                  work_done="Replaced the fan motor.", labour_minutes=30, signer_name="Zhou",
                                  signature=signature_png())
    return wo, report


def test_a_report_sent_back_shows_the_comment_to_the_technician(client, manager, technician):
    # Given a completed job awaiting review
    wo, report = _complete(technician)
    client.force_login(manager)
    queue = client.get(reverse("completion:reviews")).content.decode()
    assert wo.number in queue

    # When the manager sends it back with a comment
    response = client.post(reverse("completion:review", args=[report.pk]),
                           {"decision": "send_back", "comment": "Please add a photo of the new motor's label."})
    assert response.status_code == 302

    # Then the technician sees the comment on the job page and in their list
    client.force_login(technician.user)
    assert "Please add a photo of the new motor" in client.get(reverse("tech:job", args=[wo.pk])).content.decode()
    assert wo.number in client.get(reverse("tech:jobs")).content.decode()
    report.refresh_from_db()
    assert report.review_status == CompletionReport.Review.SENT_BACK
    assert wo.events.filter(action="report_sent_back", actor=manager).exists()

    # ... and answering it puts the report back in the manager's queue
    client.post(reverse("tech:revise", args=[wo.pk]), {"reply": "Photo added to the notes.",
                                                       "work_done": "Replaced the fan motor (label: FM-22)."})
    report.refresh_from_db()
    assert report.review_status == CompletionReport.Review.PENDING
    assert report.work_done == "Replaced the fan motor (label: FM-22)."
    client.force_login(manager)
    assert "Photo added to the notes." in client.get(reverse("completion:review", args=[report.pk])).content.decode()


def test_sending_back_needs_a_comment(manager, technician):
    _wo, report = _complete(technician)
    with pytest.raises(InvalidInput):
        completion_review(report_id=report.pk, actor=manager, decision="send_back", comment=" ")
    report.refresh_from_db()
    assert report.review_status == CompletionReport.Review.PENDING


def test_approving_a_report_that_needed_review_sends_the_order_on_to_follow_up(manager, technician):
    # Given a service type whose reports a manager reviews before the survey
    reviewed = ServiceTypeFactory(code="gas-boiler", requires_review=True)
    wo, report = _complete(technician, service_type=reviewed)
    wo.refresh_from_db()
    assert wo.status == Status.RESOLVED

    completion_review(report_id=report.pk, actor=manager, decision="approve")

    wo.refresh_from_db()
    assert wo.status == Status.FOLLOW_UP
    report.refresh_from_db()
    assert report.review_status == CompletionReport.Review.APPROVED and report.reviewed_by == manager


def test_a_report_is_reviewed_once(manager, technician):
    _wo, report = _complete(technician)
    completion_review(report_id=report.pk, actor=manager, decision="approve")
    with pytest.raises(Conflict):
        completion_review(report_id=report.pk, actor=manager, decision="send_back", comment="Too late")


def test_only_managers_review(client, dispatcher, technician):
    _wo, report = _complete(technician)
    with pytest.raises(Forbidden):
        completion_review(report_id=report.pk, actor=dispatcher, decision="approve")
    client.force_login(dispatcher)
    assert client.get(reverse("completion:reviews")).status_code == 403
    assert client.post(reverse("completion:review", args=[report.pk]), {"decision": "approve"}).status_code == 403
    report.refresh_from_db()
    assert report.review_status == CompletionReport.Review.PENDING


def test_a_technician_cannot_revise_a_report_that_was_not_sent_back(client, technician):
    wo, report = _complete(technician)
    client.force_login(technician.user)
    client.post(reverse("tech:revise", args=[wo.pk]), {"reply": "changed my mind"})
    report.refresh_from_db()
    assert report.revision_note == ""
