"""The inbound-mail webhook and the agents' list of emails waiting for them."""

import hmac

from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.views import office_or_404

from .models import InboundEmail
from .services import email_receive, inbound_email_handled

PAGE = 50


@csrf_exempt
@require_POST
def inbound_webhook(request):
    """POST the raw message (RFC 5322, ``Content-Type: message/rfc822``) with
    ``Authorization: Bearer <EMAIL_INTAKE_WEBHOOK_SECRET>``. 404 when no secret is set."""
    secret = settings.EMAIL_INTAKE_WEBHOOK_SECRET
    if not secret:
        raise Http404
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return JsonResponse({"error": "unauthorized", "message": _("Wrong or missing secret.")}, status=401)
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.EMAIL_INTAKE_MAX_BYTES:
        return JsonResponse({"error": "too_large", "message": _("The message is too large.")}, status=413)
    raw = request.read(settings.EMAIL_INTAKE_MAX_BYTES + 1)
    if not raw.strip():
        return JsonResponse({"error": "invalid", "message": _("Send the message itself as the body.")}, status=400)
    received = email_receive(raw, source="webhook")
    record = received.record
    if record is None:  # dropped: answered 200 all the same, so the provider does not send it again
        return JsonResponse({"outcome": "dropped", "reason": received.reason})
    return JsonResponse({
        "outcome": record.outcome, "duplicate": received.duplicate,
        "work_order": record.work_order.number if record.work_order_id else None,
    })


@office_or_404
def inbox(request):
    outcome = request.GET.get("outcome") or InboundEmail.Outcome.UNMATCHED
    if outcome not in InboundEmail.Outcome.values:
        outcome = InboundEmail.Outcome.UNMATCHED
    rows = (InboundEmail.objects.filter(outcome=outcome).select_related("work_order", "handled_by")
            .order_by("-received_at")[:PAGE])
    return render(request, "email_intake/inbox.html", {
        "rows": rows, "outcome": outcome, "outcomes": InboundEmail.Outcome.choices,
    })


@office_or_404
def detail(request, pk: int):
    record = get_object_or_404(InboundEmail.objects.select_related("work_order", "handled_by"), pk=pk)
    return render(request, "email_intake/detail.html", {"record": record})


@office_or_404
@require_POST
def handled(request, pk: int):
    try:
        inbound_email_handled(record_id=pk, user=request.user, work_order_number=request.POST.get("work_order", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("email_intake:detail", pk=pk)
    messages.success(request, _("Marked as handled."))
    return redirect("email_intake:inbox")
