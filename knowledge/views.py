"""Knowledge-base pages: browse and search, an article, "was this helpful?", suggestions.

Public articles need no login; staff and technician articles are shown only to
the right roles (anyone else gets a 404, as if they did not exist). Views stay
thin: parse, call a selector or service, render.
"""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.decorators import ratelimit

from core.errors import InvalidInput, NotFound
from core.permissions import may
from core.pagination import keyset_page
from catalog.models import ServiceType

from . import selectors, services
from .models import Audience, Category

QUERY_MAX = 200
PAGE_SIZE = 20
# Session keys: the articles this browser has voted on / opened from a suggestion.
VOTED_KEY = "kb_voted"
OPENED_KEY = "kb_opened"


def _service_type_id(raw: str | None) -> int | None:
    """The id of an active service type from a query parameter; InvalidInput if it is not one."""
    if not raw:
        return None
    if not raw.isdigit() or not ServiceType.objects.filter(pk=int(raw), active=True).exists():
        message = _("Unknown service type.")
        raise InvalidInput(message, fields={"service_type": [message]})
    return int(raw)


@require_GET
def index(request):
    """Browse (newest first, by category or service type) or search."""
    q = request.GET.get("q", "").strip()[:QUERY_MAX]
    category = None
    slug = request.GET.get("category", "")
    if slug:
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            messages.warning(request, _("Unknown category; showing all."))
    try:
        service_type_id = _service_type_id(request.GET.get("service_type"))
    except InvalidInput as exc:
        messages.warning(request, exc.message)
        service_type_id = None

    page = None
    results = None
    if q:
        results = selectors.article_search(
            user=request.user, q=q, category=category, service_type_id=service_type_id, limit=PAGE_SIZE
        )
    else:
        qs = selectors.article_browse(user=request.user, category=category, service_type_id=service_type_id)
        try:
            page = keyset_page(qs, sort="-id", cursor=request.GET.get("cursor") or None, size=PAGE_SIZE)
        except InvalidInput:
            messages.warning(request, _("That page link is no longer valid; showing the first page."))
            page = keyset_page(qs, sort="-id", size=PAGE_SIZE)
    context = {
        "q": q,
        "results": results,
        "page": page,
        "category": category,
        "categories": selectors.category_list(),
        "service_types": ServiceType.objects.filter(active=True).only("id", "name"),
        "service_type_id": service_type_id,
        "audience_labels": dict(Audience.choices),
    }
    return render(request, "knowledge/index.html", context)


def article_detail(request, pk: int):
    try:
        article = selectors.article_get_for(user=request.user, article_id=pk)
    except NotFound:
        raise Http404(_("No such article.")) from None
    # Customers have no accounts: an agent opening a suggestion on the phone
    # intake (or staff trying the public form) is not counted, so that
    # ``suggestion_opens`` minus the opens recorded with submitted requests is
    # what customers read and then did not ask for a visit
    # (``selectors.article_suggestion_outcomes``).
    if request.GET.get("from") == "suggest" and not request.user.is_authenticated:
        opened = request.session.get(OPENED_KEY, [])
        if article.pk not in opened:
            services.article_count_suggestion_open(article_id=article.pk)
            request.session[OPENED_KEY] = [*opened, article.pk][-200:]
    context = {
        "article": article,
        "voted": request.session.get(VOTED_KEY, {}).get(str(article.pk)),
        "show_history": may(request.user, "knowledge.read_history"),
    }
    return render(request, "knowledge/detail.html", context)


@require_POST
def article_helpful(request, pk: int):
    """Count one "was this helpful?" answer; one per browser session and article."""
    try:
        article = selectors.article_get_for(user=request.user, article_id=pk)
    except NotFound:
        raise Http404(_("No such article.")) from None
    answer = request.POST.get("helpful")
    if answer not in ("yes", "no"):
        messages.error(request, _("Choose yes or no."))
        return redirect("knowledge:detail", pk=article.pk)
    voted = request.session.get(VOTED_KEY, {})
    if str(article.pk) in voted:
        messages.info(request, _("You have already answered for this article. Thank you."))
    else:
        services.article_vote(article_id=article.pk, helpful=answer == "yes")
        voted[str(article.pk)] = answer
        # Keep the session small: the most recent 500 answers.
        request.session[VOTED_KEY] = dict(list(voted.items())[-500:])
        messages.success(request, _("Thank you for your answer."))
    return redirect(reverse("knowledge:detail", kwargs={"pk": article.pk}) + "#helpful")


@require_GET
@never_cache
@ratelimit(key="ip", rate="120/m", block=True)
def suggest(request):
    """Public articles that may solve what a customer describes (JSON, for static/knowledge/suggest.js).

    ``q`` is the description typed so far, ``service_type`` the chosen type's id
    (optional). ``audience=staff`` adds staff articles for readers who may see
    them (the agents' phone intake). Answers
    ``{"results": [{"id", "title", "summary", "url"}]}``.
    """
    q = request.GET.get("q", "").strip()[:QUERY_MAX]
    try:
        service_type_id = _service_type_id(request.GET.get("service_type"))
    except InvalidInput as exc:
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    include_staff = (
        request.GET.get("audience") == Audience.STAFF
        and Audience.STAFF in selectors.article_audiences_for(request.user)
    )
    articles = (
        selectors.article_suggestions_public(q=q, service_type_id=service_type_id, include_staff=include_staff)
        if q
        else []
    )
    results = [
        {
            "id": a.pk,
            "title": a.title,
            "summary": a.summary,
            "url": reverse("knowledge:detail", kwargs={"pk": a.pk}) + "?from=suggest",
        }
        for a in articles
    ]
    return JsonResponse({"results": results})
