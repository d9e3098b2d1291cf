"""Knowledge-base articles, their version history and the suggestion log.

Articles change only through ``knowledge.services`` (pages, admin and scripts
alike), which renders the Markdown, writes the version row and refreshes the
search columns in the same transaction.
"""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Audience(models.TextChoices):
    PUBLIC = "public", _("Public")
    STAFF = "staff", _("Staff")
    TECHNICIAN = "technician", _("Technicians")


class Category(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True, allow_unicode=True)
    position = models.PositiveSmallIntegerField(_("position"), default=100)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Article(models.Model):
    code = models.SlugField(
        _("article code"), max_length=60, unique=True, null=True, blank=True,
        help_text=_("The key an import file matches the article on (optional)."),
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("body (Markdown)"))
    # The sanitized HTML of ``body``, rendered by the service on every save.
    body_html = models.TextField(editable=False, blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="articles", verbose_name=_("category")
    )
    audience = models.CharField(_("audience"), max_length=12, choices=Audience.choices, default=Audience.PUBLIC)
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles", verbose_name=_("tags"))
    service_types = models.ManyToManyField(
        "catalog.ServiceType", blank=True, related_name="articles", verbose_name=_("service types")
    )
    equipment_models = models.CharField(
        _("equipment models"),
        max_length=255,
        blank=True,
        help_text=_("Comma-separated models this article is about, e.g. KFR-35GW,XQB80-36"),
    )
    published = models.BooleanField(_("published"), default=False)
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)

    # Search (PostgreSQL): the weighted tsvector of the jieba-segmented title and
    # tags (A), summary (B) and body (C), written by the service on every save
    # (see knowledge/search.py); NULL until the first save.
    search_vector = SearchVectorField(null=True, editable=False)

    helpful_yes = models.PositiveIntegerField(_("helpful"), default=0, editable=False)
    helpful_no = models.PositiveIntegerField(_("not helpful"), default=0, editable=False)
    suggestion_opens = models.PositiveIntegerField(
        _("opened from a suggestion"), default=0, editable=False
    )

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_index=False, editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_index=False, editable=False,
    )

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["-id"]
        permissions = [("import_article", _("Can import articles")), ("export_article", _("Can export articles"))]
        indexes = [
            # Browse pages: published articles of the reader's audiences, newest first.
            models.Index(fields=["published", "audience", "id"], name="kb_article_pub_aud_id"),
            # The GIN indexes for search (tsvector, trigram on title) are made in SQL by
            # migration 0002.
        ]
        constraints = [
            models.CheckConstraint(condition=Q(audience__in=Audience.values), name="kb_article_audience_known"),
        ]

    def __str__(self):
        return self.title

    @property
    def equipment_model_list(self) -> list[str]:
        return [m for m in self.equipment_models.split(",") if m]


class ArticleVersion(models.Model):
    """One row per save of an article: who changed what, and when. Never edited."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_index=False, verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    changed_fields = models.JSONField(_("changed fields"), default=list)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # A snapshot of the article as this save left it.
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("body (Markdown)"))
    category_name = models.CharField(_("category"), max_length=80, blank=True)
    audience = models.CharField(_("audience"), max_length=12, choices=Audience.choices)
    published = models.BooleanField(_("published"))
    tags = models.CharField(_("tags"), max_length=500, blank=True)
    service_types = models.CharField(_("service types"), max_length=500, blank=True)
    equipment_models = models.CharField(_("equipment models"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        ordering = ["article", "-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="kb_version_number_once")]

    def __str__(self):
        return f"{self.article_id} v{self.number}"


class SuggestionOutcome(models.Model):
    """What the public form suggested to a customer who then still submitted a request.

    Written by the intake view through ``suggestion_outcome_record``. Together
    with ``Article.suggestion_opens`` it tells how often suggestions were read
    and how often the customer went on to ask for a visit anyway.

    The work order is kept by its id, not a foreign key: knowledge sits below
    workorders and knows no WorkOrder (work orders are never deleted).
    """

    work_order_ref = models.BigIntegerField(_("work order"), unique=True, db_column="work_order_id")
    shown = models.ManyToManyField(Article, related_name="+", blank=True)
    opened = models.ManyToManyField(Article, related_name="+", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("suggestion outcome")
        verbose_name_plural = _("suggestion outcomes")

    def __str__(self):
        return str(self.work_order_ref)
