"""Importing and exporting knowledge articles (django-import-export), matched on the article code.

Each row is written through ``knowledge.services`` (``article_create`` / ``article_update``), so an
imported article is rendered, sanitized, versioned ("Imported from a file" in its history) and
searchable like one typed in; a row that changes nothing writes no version. Tags are a list
(``保养;漏水``), service types their codes (``ac-repair;ac-clean``); a category named in the file
that does not exist yet is created.
"""

from django.db.models import Q
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_lazy as _
from import_export import fields, widgets

from catalog.models import ServiceType
from core.i18n import split_bilingual
from core.imports import ChoiceWidget, Column, MasterDataResource, YesNoWidget

from .models import Article, Audience, Category
from .services import BODY_MAX, TAG_MAX, article_create, article_update, normalise_equipment_models

AUDIENCE_ALIASES = {"公开": Audience.PUBLIC, "内部": Audience.STAFF, "员工": Audience.STAFF, "工程师": Audience.TECHNICIAN}


def split_list(text) -> list[str]:
    value = str(text or "")
    for mark in ("；", "，", ",", "、"):
        value = value.replace(mark, ";")
    return [part.strip() for part in value.split(";") if part.strip()]


class ArticleResource(MasterDataResource):
    columns = (
        Column("code", _("article code"), required=True),
        Column("title", _("title"), required=True),
        Column("summary", _("summary")),
        Column("body", _("body (Markdown)"), required=True),
        Column("category", _("category")),
        Column("audience", _("audience")),
        Column("tags", _("tags")),
        Column("service_types", _("service types")),
        Column("equipment_models", _("equipment models")),
        Column("published", _("published")),
    )
    key_columns = ("code",)

    code = fields.Field(attribute="code", column_name="code", widget=widgets.CharWidget())
    title = fields.Field(attribute="title", column_name="title", widget=widgets.CharWidget())
    summary = fields.Field(attribute="summary", column_name="summary", widget=widgets.CharWidget())
    body = fields.Field(attribute="body", column_name="body", widget=widgets.CharWidget())
    category = fields.Field(column_name="category", readonly=True)
    audience = fields.Field(attribute="audience", column_name="audience",
                            widget=ChoiceWidget(Audience.choices, AUDIENCE_ALIASES, default=Audience.PUBLIC))
    tags = fields.Field(column_name="tags", readonly=True)
    service_types = fields.Field(column_name="service_types", readonly=True)
    equipment_models = fields.Field(attribute="equipment_models", column_name="equipment_models",
                                    widget=widgets.CharWidget())
    published = fields.Field(attribute="published", column_name="published", widget=YesNoWidget(default=True))

    class Meta(MasterDataResource.Meta):
        model = Article
        fields = ("code", "title", "summary", "body", "category", "audience", "tags", "service_types",
                  "equipment_models", "published")
        import_id_fields = ("code",)
        clean_model_instances = False

    # export

    def dehydrate_category(self, article):
        """Both names, as a file names the category ("保养 Maintenance"): read back, it finds the same one."""
        if not article.category_id:
            return ""
        category = article.category
        return " ".join(n for n in (category.name_zh_hans, category.name_en) if n) or category.name

    def dehydrate_tags(self, article):
        return ";".join(sorted((t.name for t in article.tags.all()), key=str.lower)) if article.pk else ""

    def dehydrate_service_types(self, article):
        return ";".join(sorted(s.code for s in article.service_types.all())) if article.pk else ""

    def get_export_queryset(self, request=None):
        return Article.objects.select_related("category").prefetch_related("tags", "service_types").order_by("code", "id")

    # import

    def prepare(self, dataset, **kwargs):
        self.type_codes = dict(ServiceType.objects.values_list("code", "pk"))

    def check_row(self, row, errors, line):
        if not row["code"] or slugify(str(row["code"])) != str(row["code"]).lower():
            errors["code"] = [_("Use letters, digits, hyphens and underscores only.")]
        if len(str(row["body"])) > BODY_MAX:
            errors["body"] = [_("At most %(count)s characters.") % {"count": BODY_MAX}]
        tags = split_list(row.get("tags"))
        if any(len(tag) > TAG_MAX for tag in tags):
            errors["tags"] = [gettext("A tag may have at most %(n)d characters.") % {"n": TAG_MAX}]
        codes = split_list(row.get("service_types"))
        unknown = sorted(code for code in codes if code not in self.type_codes)
        if unknown:
            errors["service_types"] = [_("Unknown service type codes: %(codes)s.") % {"codes": ", ".join(unknown)}]
        category = str(row.get("category") or "").strip()
        if len(category) > 80:
            errors["category"] = [_("At most %(count)s characters.") % {"count": 80}]
        try:
            models = normalise_equipment_models(str(row.get("equipment_models") or ""))
        except Exception:  # noqa: BLE001 - the service's message is about the same limit
            errors["equipment_models"] = [_("At most %(count)s characters.") % {"count": 255}]
        else:
            row["equipment_models"] = models
        row["_tags"], row["_types"], row["_category"] = tags, [self.type_codes[c] for c in codes if c in self.type_codes], category

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if not super().skip_row(instance, original, row, import_validation_errors):
            return False
        if instance.pk is None:
            return False
        same_category = self._same_category(instance.category if instance.category_id else None,
                                            row.get("_category", ""))
        same_tags = sorted((t.name for t in instance.tags.all()), key=str.lower) == sorted(row.get("_tags", []), key=str.lower)
        same_types = sorted(instance.service_types.values_list("pk", flat=True)) == sorted(row.get("_types", []))
        return same_category and same_tags and same_types

    @staticmethod
    def _names(name) -> set[str]:
        """What a category cell may match: the whole text, or its Chinese or its English part."""
        return {n for n in (name, *split_bilingual(name)) if n}

    def _same_category(self, category, name) -> bool:
        if category is None or not name:
            return category is None and not name
        return bool(self._names(name) & {category.name_zh_hans, category.name_en})

    def _category(self, name):
        if not name:
            return None
        names = self._names(name)
        found = Category.objects.filter(Q(name_zh_hans__in=names) | Q(name_en__in=names)).order_by("pk").first()
        if found is None:
            chinese, english = split_bilingual(name)
            slug = slugify(name, allow_unicode=True)[:70] or "category"
            if Category.objects.filter(slug=slug).exists():
                slug = f"{slug}-{Category.objects.count() + 1}"
            found = Category.objects.create(name=chinese or english, name_zh_hans=chinese or None,
                                            name_en=english or None, slug=slug)
        return found

    def save_instance(self, instance, is_create, row, **kwargs):
        values = {
            "title": instance.title, "summary": instance.summary or "", "body": instance.body,
            "category": self._category(row.get("_category", "")), "audience": instance.audience,
            "tags": row.get("_tags", []), "service_types": row.get("_types", []),
            "equipment_models": instance.equipment_models or "", "published": instance.published,
        }
        note = gettext("Imported from a file")
        actor = kwargs.get("user")
        if is_create:
            saved = article_create(actor=actor, note=note, code=instance.code, **values)
        else:
            saved = article_update(article_id=instance.pk, actor=actor, note=note, **values)
        instance.pk = saved.pk
