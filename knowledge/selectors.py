"""Reads of articles: who may see which, browse, search and suggestions."""

from django.contrib.postgres.search import SearchRank
from django.db.models import Case, Count, F, FloatField, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext as _

from core import roles as R
from core.errors import NotFound

from . import search
from .models import Article, Audience, Category, SuggestionOutcome

SEARCH_LIMIT = 20
SUGGEST_LIMIT = 5


def article_audiences_for(user) -> frozenset[str]:
    """The audiences whose articles ``user`` may read.

    Everyone reads public articles; agents, dispatchers and managers staff
    articles; technicians and partner technicians technician articles; a
    superuser all.
    """
    audiences = {Audience.PUBLIC}
    if user is not None and user.is_authenticated:
        if user.is_superuser:
            return frozenset(Audience.values)
        names = R.roles_of(user)
        if names & R.OFFICE_ROLES:
            audiences.add(Audience.STAFF)
        if names & R.FIELD_ROLES:
            audiences.add(Audience.TECHNICIAN)
    return frozenset(audiences)


def article_visible_to(user) -> QuerySet:
    """Published articles of the audiences ``user`` may read."""
    return Article.objects.filter(published=True, audience__in=article_audiences_for(user))


def article_get_for(*, user, article_id: int) -> Article:
    """One article for its page; NotFound also when the reader may not see it (so as not to reveal it)."""
    article = (
        article_visible_to(user)
        .select_related("category")
        .prefetch_related("tags", "service_types")
        .filter(pk=article_id)
        .first()
    )
    if article is None:
        raise NotFound(_("No such article."))
    return article


def _list_columns(qs: QuerySet) -> QuerySet:
    # The list shows title, summary, category and audience; never load the bodies.
    return qs.select_related("category").only(
        "id", "title", "summary", "audience", "updated_at", "category__name", "category__name_zh_hans",
        "category__name_en",
        "category__slug"
    )


def article_browse(*, user, category: Category | None = None, service_type_id: int | None = None) -> QuerySet:
    """Articles for the browse page, newest first (keyset-paginated by the view)."""
    qs = article_visible_to(user)
    if category is not None:
        qs = qs.filter(category=category)
    if service_type_id:
        qs = qs.filter(service_types__id=service_type_id)
    return _list_columns(qs).order_by("-id")


def article_search(
    *, user, q: str, category: Category | None = None, service_type_id: int | None = None, limit: int = SEARCH_LIMIT
) -> list[Article]:
    """The best ``limit`` articles for the query ``q`` that ``user`` may read."""
    qs = article_visible_to(user)
    if category is not None:
        qs = qs.filter(category=category)
    if service_type_id:
        qs = qs.filter(service_types__id=service_type_id)
    return search.search(_list_columns(qs), q, limit=limit)


def category_list() -> QuerySet:
    return Category.objects.all()


def article_suggestions_public(
    *, q: str, service_type_id: int | None = None, limit: int = SUGGEST_LIMIT, include_staff: bool = False
) -> list:
    """Public articles that may solve what a customer is describing.

    Articles tagged with the chosen service type come first; others still
    appear when they match the words well (a customer may pick the wrong type).
    ``include_staff`` adds staff articles, for the agents' phone intake (the
    caller checks that the reader may see them).
    """
    if not search.query_terms(q):
        return []
    audiences = [Audience.PUBLIC, Audience.STAFF] if include_staff else [Audience.PUBLIC]
    qs = Article.objects.filter(published=True, audience__in=audiences).only("id", "title", "summary")
    prefer = ()
    if service_type_id:
        same_type = Article.objects.filter(service_types__id=service_type_id).values("pk")
        qs = qs.annotate(
            same_type=Case(When(pk__in=same_type, then=Value(1)), default=Value(0), output_field=IntegerField())
        )
        prefer = ("-same_type",)
    return search.search(qs, q, limit=limit, prefer=prefer)


def article_suggestions_for_work_order(work_order, audience: str, *, limit: int = SUGGEST_LIMIT) -> list[Article]:
    """Articles for the agent's intake page or the technician's job page.

    ``audience`` is ``"staff"`` or ``"technician"``: articles of that audience
    and public ones. Candidates are articles for the work order's equipment
    model or its service type; those for the exact model come first, then the
    reader's own audience, then what the problem description matches best
    (PostgreSQL) and what readers found helpful. One query (plus the
    equipment, unless it was loaded with the work order).
    """
    if audience not in (Audience.STAFF, Audience.TECHNICIAN):
        raise ValueError(f"audience must be staff or technician, not {audience!r}")
    model = ""
    if getattr(work_order, "equipment_id", None):
        model = (work_order.equipment.model or "").strip().upper()
    match = Q(service_types__id=work_order.service_type_id)
    model_match = Q()
    if model:
        model_match = (
            Q(equipment_models__iexact=model)
            | Q(equipment_models__istartswith=model + ",")
            | Q(equipment_models__iendswith="," + model)
            | Q(equipment_models__icontains="," + model + ",")
        )
        match |= model_match
    candidates = Article.objects.filter(published=True, audience__in=[audience, Audience.PUBLIC]).filter(
        pk__in=Article.objects.filter(match).values("pk")
    )
    ordering = []
    if model:
        candidates = candidates.annotate(
            model_match=Case(When(model_match, then=Value(1)), default=Value(0), output_field=IntegerField())
        )
        ordering.append("-model_match")
    candidates = candidates.annotate(
        own_audience=Case(When(audience=audience, then=Value(1)), default=Value(0), output_field=IntegerField())
    )
    ordering.append("-own_audience")
    if search.query_terms(work_order.description):
        query = search.tsquery_for(work_order.description)
        candidates = candidates.annotate(
            text_rank=Coalesce(SearchRank(F("search_vector"), query), Value(0.0), output_field=FloatField())
        )
        ordering.append("-text_rank")
    ordering += ["-helpful_yes", "-id"]
    return list(_list_columns(candidates).order_by(*ordering)[:limit])


def _outcome_count(through) -> Coalesce:
    """How many submitted requests' suggestion outcomes name the outer article in ``through``."""
    per_article = (
        through.objects.filter(article_id=OuterRef("pk")).order_by().values("article_id").annotate(n=Count("*"))
    )
    return Coalesce(Subquery(per_article.values("n")[:1]), Value(0), output_field=IntegerField())


def article_suggestion_outcomes() -> QuerySet:
    """Public articles with what suggesting them on the request form led to (one query).

    Each article is annotated with
    ``shown_submitted``: requests submitted after the form showed it;
    ``opened_submitted``: requests submitted after the customer opened it from the suggestion;
    ``opened_not_submitted``: customers who opened it from a suggestion and did not submit
    (``suggestion_opens``, counted once per browser for readers without an account, minus
    ``opened_submitted``, never below 0): as far as the site can tell, it answered them.
    The form learns of an open from the link's click: one opened from the context menu is
    counted by the article page but not by the form, so it shows here as not submitted.
    """
    opened_submitted = _outcome_count(SuggestionOutcome.opened.through)
    return (
        Article.objects.filter(audience=Audience.PUBLIC)
        .annotate(shown_submitted=_outcome_count(SuggestionOutcome.shown.through), opened_submitted=opened_submitted)
        .annotate(
            opened_not_submitted=Greatest(F("suggestion_opens") - F("opened_submitted"), Value(0),
                                          output_field=IntegerField())
        )
        .only("id", "title", "suggestion_opens")
        .order_by("-opened_not_submitted", "-id")
    )
