from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput

from core.admin import TranslatedAdmin
from core.import_admin import MasterDataImportAdmin

from .models import Article, ArticleVersion, Category, SuggestionOutcome, Tag
from .resources import ArticleResource
from .services import article_create, article_update, normalise_equipment_models


@admin.register(Category)
class CategoryAdmin(TranslatedAdmin):
    list_display = ["name", "slug", "position"]
    list_editable = ["position"]
    search_fields = ["name_zh_hans", "name_en", "slug"]
    prepopulated_fields = {"slug": ["name_zh_hans"]}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class ArticleAdminForm(forms.ModelForm):
    change_note = forms.CharField(
        label=_("What changed"), max_length=200, required=False, help_text=_("Kept in the version history.")
    )

    class Meta:
        model = Article
        fields = [
            "title", "code", "summary", "body", "category", "audience", "tags", "service_types", "equipment_models",
            "published",
        ]

    def clean_equipment_models(self):
        try:
            return normalise_equipment_models(self.cleaned_data.get("equipment_models", ""))
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from None


class VersionInline(admin.TabularInline):
    """Who changed what, and when: shown, never edited."""

    model = ArticleVersion
    extra = 0
    can_delete = False
    fields = ["number", "changed_at", "changed_by", "changed_fields", "note", "audience", "published", "title"]
    readonly_fields = fields
    ordering = ["-number"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Article)
class ArticleAdmin(MasterDataImportAdmin):
    """Saves (and imports: knowledge/resources.py) go through knowledge.services, which renders and
    sanitizes the body and writes a version."""

    resource_classes = [ArticleResource]
    form = ArticleAdminForm
    list_display = [
        "title", "category", "audience", "published", "version", "updated_at", "updated_by", "helpful_yes",
        "helpful_no",
    ]
    list_filter = ["published", "audience", "category", "service_types", "tags"]
    search_fields = ["title", "summary", "body", "tags__name", "equipment_models"]
    list_select_related = ["category", "updated_by"]
    autocomplete_fields = ["tags"]
    filter_horizontal = ["service_types"]
    readonly_fields = [
        "version", "created_at", "created_by", "updated_at", "updated_by", "helpful_yes", "helpful_no",
        "suggestion_opens",
    ]
    inlines = [VersionInline]
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["title", "code", "summary", "body", "change_note"]}),
        (_("Who and where"), {"fields": ["category", "audience", "published", "tags", "service_types",
                                         "equipment_models"]}),
        (_("History and feedback"), {"fields": readonly_fields}),
    ]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {
            "title": data["title"],
            "summary": data.get("summary", ""),
            "body": data["body"],
            "category": data.get("category"),
            "audience": data["audience"],
            "tags": list(data.get("tags") or ()),
            "service_types": list(data.get("service_types") or ()),
            "equipment_models": data.get("equipment_models", ""),
            "published": data.get("published", False),
            "code": data.get("code") or None,
        }
        note = data.get("change_note", "")
        if change:
            saved = article_update(article_id=obj.pk, actor=request.user, note=note, **fields)
        else:
            saved = article_create(actor=request.user, note=note, **fields)
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def save_related(self, request, form, formsets, change):
        # The service has already set the tags and service types; do not save the form's m2m again.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(SuggestionOutcome)
class SuggestionOutcomeAdmin(admin.ModelAdmin):
    list_display = ["work_order_ref", "created_at"]
    readonly_fields = ["work_order_ref", "shown", "opened", "created_at"]

    def has_add_permission(self, request):
        return False
