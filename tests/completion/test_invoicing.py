"""Completed, reviewed work is handed over for invoicing once: a manager (or the accounting
system's integration) takes what waits as a batch, downloads it, and releases it if refused."""

import csv
import io
import threading
import uuid

import pytest
from django.db import connection
from django.urls import reverse

from completion.invoicing import invoice_batch_create, invoicing_pending
from completion.models import CompletionReport, InvoiceBatch
from completion.services import completion_submit
from tests.factories import PartFactory, ServiceTypeFactory, UserFactory
from tests.technicians.helpers import job_for, signature_png
from workorders.lifecycle import Status
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def completed(technician, *, status=Status.CLOSED, requires_review=False, review=None, parts=(), ref=None):
    service_type = ServiceTypeFactory(requires_review=requires_review)
    wo = job_for(technician, service_type=service_type)
    if ref:
        WorkOrder.objects.filter(pk=wo.pk).update(external_ref=ref)
    report, _ = completion_submit(work_order_id=wo.pk, actor=technician.user, submission_key=uuid.uuid4(),
                                  work_done="Replaced the fan motor.", labour_minutes=45, signer_name="Zhou",
                                  signature=signature_png(), parts=list(parts))
    WorkOrder.objects.filter(pk=wo.pk).update(status=status)
    if review:
        CompletionReport.objects.filter(pk=report.pk).update(review_status=review)
    return report


def test_only_closed_and_reviewed_work_waits(technician):
    ready = completed(technician)
    approved = completed(technician, requires_review=True, review="approved")
    completed(technician, requires_review=True)  # not reviewed yet
    completed(technician, requires_review=True, review="sent_back")
    completed(technician, status=Status.RESOLVED)  # not closed yet
    assert set(invoicing_pending().values_list("pk", flat=True)) == {ready.pk, approved.pk}


def test_a_manager_hands_work_over_once_and_downloads_it(client, manager, technician):
    PartFactory(part_number="PUMP-7", name="Drain pump", unit_price=80)
    report = completed(technician, parts=[("PUMP-7", 2)], ref="CRM-5512")
    client.force_login(manager)
    page = client.get(reverse("completion:invoicing")).content.decode()
    assert 'data-pending="1"' in page

    response = client.post(reverse("completion:invoice-batch-create"), follow=True)
    batch = InvoiceBatch.objects.get()
    assert batch.count == 1 and batch.total == report.total_amount
    assert report.work_order.number in response.content.decode()
    report.refresh_from_db()
    assert report.invoice_batch == batch and not invoicing_pending().exists()

    download = client.get(reverse("completion:invoice-batch-download", args=[batch.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    head, line = rows[0], dict(zip(rows[0], rows[1]))
    assert len(rows) == 2 and "Order reference" in head
    assert line["Work order"] == report.work_order.number and line["Order reference"] == "CRM-5512"
    assert line["Labour (minutes)"] == "45" and line["Parts"] == "160.00" and "PUMP-7 Drain pump × 2 pcs" in line["Parts used"]
    assert line["Total"] == str(report.total_amount)

    # Nothing waits any more: a second export makes no batch
    client.post(reverse("completion:invoice-batch-create"))
    assert InvoiceBatch.objects.count() == 1


def test_a_released_batch_goes_into_the_next_one(client, manager, technician):
    report = completed(technician)
    client.force_login(manager)
    first = invoice_batch_create(actor=manager)
    client.post(reverse("completion:invoice-batch-release", args=[first.pk]))
    first.refresh_from_db()
    assert first.released_at is not None and first.released_by == manager
    again = client.post(reverse("completion:invoice-batch-release", args=[first.pk]), follow=True)
    assert "already released" in again.content.decode()
    second = invoice_batch_create(actor=manager)
    report.refresh_from_db()
    assert report.invoice_batch == second and second.lines[0]["report"] == report.pk
    assert first.lines[0]["report"] == report.pk  # the released batch still reads as it was handed over


def test_invoicing_is_for_managers(client, agent, technician, dispatcher):
    completed(technician)
    batch = invoice_batch_create(actor=UserFactory())
    for user in (agent, dispatcher, technician.user):
        client.force_login(user)
        assert client.get(reverse("completion:invoicing")).status_code == 403
        assert client.get(reverse("completion:invoice-batch-download", args=[batch.pk, "csv"])).status_code == 403
        assert client.get("/api/v1/invoicing/batches/").status_code == 403
        assert client.post("/api/v1/invoicing/batches/").status_code == 403


def test_the_api_hands_over_reads_and_releases(client, manager, technician):
    report = completed(technician, ref="ERP-1")
    client.force_login(manager)
    assert client.get("/api/v1/invoicing/pending/").json() == {"count": 1, "total": str(report.total_amount)}
    created = client.post("/api/v1/invoicing/batches/")
    assert created.status_code == 201
    body = created.json()
    assert body["count"] == 1 and body["lines"][0]["work_order_ref"] == "ERP-1"
    assert client.post("/api/v1/invoicing/batches/").status_code == 204  # nothing waits
    assert client.get(f"/api/v1/invoicing/batches/{body['id']}/").json()["lines"][0]["report"] == report.pk
    assert client.get("/api/v1/invoicing/batches/999999/").status_code == 404
    released = client.post(f"/api/v1/invoicing/batches/{body['id']}/release/")
    assert released.status_code == 200 and released.json()["released"] is True
    assert client.post(f"/api/v1/invoicing/batches/{body['id']}/release/").status_code == 409
    assert client.get("/api/v1/invoicing/pending/").json()["count"] == 1


@pytest.mark.django_db(transaction=True)
def test_two_exports_at_once_never_hand_over_a_report_twice(technician):
    reports = [completed(technician) for _ in range(6)]
    users = [UserFactory(), UserFactory()]
    barrier, batches = threading.Barrier(2), []

    def export(user):
        try:
            barrier.wait()
            batches.append(invoice_batch_create(actor=user))
        finally:
            connection.close()

    threads = [threading.Thread(target=export, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handed = [line["report"] for b in batches if b is not None for line in b.lines]
    assert sorted(handed) == sorted(r.pk for r in reports)  # each exactly once
