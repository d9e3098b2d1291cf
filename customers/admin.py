from django.contrib import admin

from core.admin import PhoneFieldsAdmin
from core.import_admin import MasterDataImportAdmin

from .models import Customer, Equipment, Site
from .resources import CustomerResource, EquipmentResource, SiteResource


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


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


@admin.register(Site)
class SiteAdmin(MasterDataImportAdmin):
    resource_classes = [SiteResource]
    list_display = ["address", "label", "city", "customer", "latitude", "longitude"]
    list_filter = ["city"]
    search_fields = ["address", "label", "customer__name", "customer__phone"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    show_full_result_count = False


@admin.register(Equipment)
class EquipmentAdmin(MasterDataImportAdmin):
    resource_classes = [EquipmentResource]
    list_display = ["serial", "brand", "model", "customer", "install_date", "warranty_end"]
    list_filter = ["brand", "warranty_end"]
    search_fields = ["serial", "model", "brand", "customer__name", "customer__phone"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer", "site"]
    date_hierarchy = "install_date"
    show_full_result_count = False
