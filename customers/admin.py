from django.contrib import admin

from core.admin import PhoneFieldsAdmin
from core.import_admin import MasterDataImportAdmin

from django.utils.translation import gettext_lazy as _

from .models import Customer, Equipment, Site
from .resources import CustomerResource, EquipmentResource, SiteResource
from .services import site_locate_again, sites_locate_after_commit

LOCATION_FIELDS = ("address", "latitude", "longitude")


def _locate_if_changed(form) -> None:
    """Before a site form saves: a new site, or a changed address or point, is located after commit."""
    changed = set(form.changed_data)
    site = form.instance
    if site.pk is not None:
        site_locate_again(site=site, address_changed="address" in changed,
                          point_changed=bool(changed & {"latitude", "longitude"}))


def _after_save(site: Site) -> None:
    if site.location_precision == Site.Precision.PENDING:
        sites_locate_after_commit(site_ids=[site.pk])


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0
    fields = ["label", "address", "city", "latitude", "longitude", "location_precision"]
    readonly_fields = ["location_precision"]


class EquipmentInline(admin.TabularInline):
    model = Equipment
    extra = 0
    autocomplete_fields = ["site"]


@admin.register(Customer)
class CustomerAdmin(PhoneFieldsAdmin, MasterDataImportAdmin):
    resource_classes = [CustomerResource]
    phone_fields = ("phone",)
    list_display = ["name", "code", "phone", "email", "tier", "language", "created_at"]
    list_filter = ["tier", "language"]
    search_fields = ["name", "code", "phone", "email"]
    show_full_result_count = False
    inlines = [SiteInline, EquipmentInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is Site:
            for site_form in formset.forms:
                if site_form.has_changed() and not formset._should_delete_form(site_form):
                    _locate_if_changed(site_form)
        super().save_formset(request, form, formset, change)
        if formset.model is Site:
            for site in formset.new_objects + [obj for obj, _fields in formset.changed_objects]:
                _after_save(site)


@admin.register(Site)
class SiteAdmin(MasterDataImportAdmin):
    resource_classes = [SiteResource]
    list_display = ["address", "label", "city", "customer", "latitude", "longitude", "location_precision"]
    list_filter = ["location_precision", "city"]
    search_fields = ["address", "label", "customer__name", "customer__phone"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["location_precision", "location_area", "located_at"]
    show_full_result_count = False
    actions = ["locate_again"]

    def save_model(self, request, obj, form, change):
        _locate_if_changed(form)
        super().save_model(request, obj, form, change)
        _after_save(obj)

    @admin.action(description=_("Locate the selected sites again from their addresses"),
                  permissions=["change"])
    def locate_again(self, request, queryset):
        ids = list(queryset.exclude(location_precision=Site.Precision.MANUAL).values_list("pk", flat=True))
        Site.objects.filter(pk__in=ids).update(
            location_precision=Site.Precision.PENDING, latitude=None, longitude=None, location_area="", located_at=None
        )
        sites_locate_after_commit(site_ids=ids)
        self.message_user(request, _("%(count)d site(s) will be located again in a moment.") % {"count": len(ids)})


@admin.register(Equipment)
class EquipmentAdmin(MasterDataImportAdmin):
    resource_classes = [EquipmentResource]
    list_display = ["serial", "brand", "model", "customer", "install_date", "warranty_end", "active"]
    list_filter = ["active", "brand", "warranty_end"]
    search_fields = ["serial", "model", "brand", "customer__name", "customer__phone"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer", "site"]
    date_hierarchy = "install_date"
    show_full_result_count = False
