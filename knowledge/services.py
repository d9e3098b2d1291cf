"""Every change to an article goes through a function in this module.

``article_create`` and ``article_update`` are one transaction each: they
validate, render and sanitize the Markdown, save the article and its tags and
service types, write the version row (who changed what, when) and refresh the
search vector. The admin calls them too.
"""

import re

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidInput, NotFound
from catalog.models import ServiceType

from . import search
from .models import Article, ArticleVersion, Audience, Category, SuggestionOutcome, Tag
from .rendering import render_markdown

TITLE_MAX = 200
SUMMARY_MAX = 300
BODY_MAX = 100_000
TAG_MAX = 40
MAX_SUGGESTION_IDS = 20

# The fields a version compares and records, in the order they are shown.
TRACKED = (
    "title", "summary", "body", "category", "audience", "published", "tags", "service_types", "equipment_models",
)


class _Unset:
    def __repr__(self):
        return "UNSET"


UNSET = _Unset()


def _clean_tags(tags) -> list[str]:
    names: list[str] = []
    for tag in tags or ():
        name = (tag.name if isinstance(tag, Tag) else str(tag)).strip()
        if not name:
            continue
        if len(name) > TAG_MAX:
            message = _("A tag may have at most %(n)d characters.") % {"n": TAG_MAX}
            raise InvalidInput(message, fields={"tags": [message]})
        if name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return sorted(names, key=str.lower)


def _clean_service_types(service_types) -> list[ServiceType]:
    items = list(service_types or ())
    ids = [s.pk if isinstance(s, ServiceType) else int(s) for s in items]
    found = list(ServiceType.objects.filter(pk__in=ids).order_by("name"))
    if len(found) != len(set(ids)):
        message = _("Unknown service type.")
        raise InvalidInput(message, fields={"service_types": [message]})
    return found


def normalise_equipment_models(text: str) -> str:
    """``"kfr-35gw, XQB80 ;kfr-35gw"`` -> ``"KFR-35GW,XQB80"``: upper case, no spaces, no repeats."""
    seen: list[str] = []
    for part in re.split(r"[,;，；、\s]+", text or ""):
        part = part.strip().upper()
        if part and part not in seen:
            seen.append(part)
    result = ",".join(seen)
    if len(result) > 255:
        message = _("List at most 255 characters of equipment models.")
        raise InvalidInput(message, fields={"equipment_models": [message]})
    return result


def _validate(*, title: str, summary: str, body: str, audience: str) -> None:
    errors = {}
    if not title.strip():
        errors["title"] = [_("This field is required.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("At most %(n)d characters.") % {"n": TITLE_MAX}]
    if len(summary) > SUMMARY_MAX:
        errors["summary"] = [_("At most %(n)d characters.") % {"n": SUMMARY_MAX}]
    if not body.strip():
        errors["body"] = [_("This field is required.")]
    elif len(body) > BODY_MAX:
        errors["body"] = [_("At most %(n)d characters.") % {"n": BODY_MAX}]
    if audience not in Audience.values:
        errors["audience"] = [_("Unknown audience.")]
    if errors:
        raise InvalidInput(_("Please correct the article."), fields=errors)


def _snapshot(article: Article, tag_names: list[str], service_types: list[ServiceType]) -> dict:
    return {
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "category": article.category.name if article.category_id else "",
        "audience": article.audience,
        "published": article.published,
        "tags": ", ".join(tag_names),
        "service_types": ", ".join(s.name for s in service_types),
        "equipment_models": article.equipment_models,
    }


def _save(*, article: Article, before: dict | None, tag_names, service_types, actor, note: str) -> Article:
    """Save ``article`` with its relations, version row and search vector (inside the caller's transaction)."""
    after = _snapshot(article, tag_names, service_types)
    changed = [f for f in TRACKED if before is None or before[f] != after[f]]
    if before is not None and not changed:
        return article  # nothing changed: no new version
    now = timezone.now()
    actor = actor if actor is not None and actor.is_authenticated else None
    article.body_html = render_markdown(article.body)
    article.version += 1
    article.updated_at = now
    article.updated_by = actor
    if before is None:
        article.created_at = now
        article.created_by = actor
    article.save()
    tags = []
    for name in tag_names:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        tags.append(tag)
    article.tags.set(tags)
    article.service_types.set(service_types)
    ArticleVersion.objects.create(
        article=article,
        number=article.version,
        changed_by=actor,
        changed_at=now,
        changed_fields=changed,
        note=(note or "")[:200],
        title=after["title"],
        summary=after["summary"],
        body=after["body"],
        category_name=after["category"],
        audience=after["audience"],
        published=after["published"],
        tags=after["tags"][:500],
        service_types=after["service_types"][:500],
        equipment_models=after["equipment_models"],
    )
    parts = search.document_parts(title=article.title, summary=article.summary, body=article.body, tags=tag_names)
    search.refresh_vectors([(article.pk, parts)])
    return article


def article_create(
    *,
    actor,
    title: str,
    body: str,
    audience: str = Audience.PUBLIC,
    summary: str = "",
    category: Category | None = None,
    tags=(),
    service_types=(),
    equipment_models: str = "",
    published: bool = False,
    note: str = "",
    code: str | None = None,
) -> Article:
    """A new article with its first version (``code``: the key imports match it on, optional)."""
    title, summary = (title or "").strip(), (summary or "").strip()
    body = body or ""
    _validate(title=title, summary=summary, body=body, audience=audience)
    tag_names = _clean_tags(tags)
    with transaction.atomic():
        types = _clean_service_types(service_types)
        article = Article(
            code=code or None,
            title=title,
            summary=summary,
            body=body,
            audience=audience,
            category=category,
            equipment_models=normalise_equipment_models(equipment_models),
            published=bool(published),
        )
        return _save(article=article, before=None, tag_names=tag_names, service_types=types, actor=actor, note=note)


def article_update(
    *,
    article_id: int,
    actor,
    note: str = "",
    title=UNSET,
    body=UNSET,
    audience=UNSET,
    summary=UNSET,
    category=UNSET,
    tags=UNSET,
    service_types=UNSET,
    equipment_models=UNSET,
    published=UNSET,
    code=UNSET,
) -> Article:
    """Change the given fields of an article; a new version records what changed.

    Saving without any change writes no version.
    """
    with transaction.atomic():
        # Lock the row: two editors saving at once get consecutive version
        # numbers instead of one of them failing on the unique (article, number).
        article = (
            Article.objects.select_for_update(of=("self",)).select_related("category").filter(pk=article_id).first()
        )
        if article is None:
            raise NotFound(_("No such article."))
        current_tags = sorted(article.tags.values_list("name", flat=True), key=str.lower)
        current_types = list(article.service_types.order_by("name"))
        before = _snapshot(article, current_tags, current_types)

        if title is not UNSET:
            article.title = (title or "").strip()
        if summary is not UNSET:
            article.summary = (summary or "").strip()
        if body is not UNSET:
            article.body = body or ""
        if audience is not UNSET:
            article.audience = audience
        if category is not UNSET:
            article.category = category
        if equipment_models is not UNSET:
            article.equipment_models = normalise_equipment_models(equipment_models)
        if published is not UNSET:
            article.published = bool(published)
        if code is not UNSET:
            article.code = code or None  # the import key: not part of a version
        _validate(title=article.title, summary=article.summary, body=article.body, audience=article.audience)
        tag_names = current_tags if tags is UNSET else _clean_tags(tags)
        types = current_types if service_types is UNSET else _clean_service_types(service_types)
        return _save(article=article, before=before, tag_names=tag_names, service_types=types, actor=actor, note=note)


def article_vote(*, article_id: int, helpful: bool) -> None:
    """Count one "was this helpful?" answer. One UPDATE, so concurrent votes all count."""
    field = "helpful_yes" if helpful else "helpful_no"
    updated = Article.objects.filter(pk=article_id).update(**{field: F(field) + 1})
    if not updated:
        raise NotFound(_("No such article."))


def article_count_suggestion_open(*, article_id: int) -> None:
    """Count that a reader opened this article from a "these may solve it" suggestion."""
    Article.objects.filter(pk=article_id).update(suggestion_opens=F("suggestion_opens") + 1)


# An article id as the suggestion script writes it: ASCII digits within the
# range of the primary key (str.isdigit would also accept "²", which int() refuses).
_ARTICLE_ID = re.compile(r"[0-9]{1,10}")
_ARTICLE_ID_MAX = 2**31 - 1


def suggestion_ids_parse(raw) -> list[int]:
    """The first ``MAX_SUGGESTION_IDS`` distinct article ids in ``raw``, skipping anything else.

    ``raw`` is a list of ids or the comma-separated text of a form's hidden
    ``kb_shown`` / ``kb_opened`` field, which anyone can fill with anything:
    junk is skipped, never an error, and the work stays linear in its length.
    """
    if isinstance(raw, str):
        raw = raw.split(",")
    ids: list[int] = []
    for item in raw or ():
        item = str(item).strip()
        if not _ARTICLE_ID.fullmatch(item):
            continue
        value = int(item)
        if 0 < value <= _ARTICLE_ID_MAX and value not in ids:
            ids.append(value)
            if len(ids) == MAX_SUGGESTION_IDS:
                break
    return ids


def suggestion_outcome_record(*, work_order, shown, opened=()) -> SuggestionOutcome | None:
    """Record that a customer saw (and perhaps opened) suggested articles and still submitted.

    ``shown`` and ``opened`` are lists of article ids or the comma-separated
    strings that static/knowledge/suggest.js puts in the form's hidden
    ``kb_shown`` and ``kb_opened`` fields; junk and unknown ids are ignored.
    Returns None when nothing was shown. Calling it twice for one work order
    keeps the first record.
    """
    shown_ids = suggestion_ids_parse(shown)
    opened_ids = suggestion_ids_parse(opened)
    shown_ids += [i for i in opened_ids if i not in shown_ids]
    public = Article.objects.filter(published=True, audience=Audience.PUBLIC)
    shown_articles = list(public.filter(pk__in=shown_ids).values_list("pk", flat=True))
    if not shown_articles:
        return None
    opened_articles = [i for i in opened_ids if i in shown_articles]
    with transaction.atomic():
        outcome, created = SuggestionOutcome.objects.get_or_create(work_order_ref=work_order.pk)
        if created:
            outcome.shown.set(shown_articles)
            outcome.opened.set(opened_articles)
    return outcome
