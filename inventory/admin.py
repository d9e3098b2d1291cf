from django.contrib import admin

from catalog.models import Part


@admin.register(Part)
class PartAdmin(admin.ModelAdmin):
    list_display = ["part_number", "name", "unit", "unit_price", "active"]
    list_filter = ["active", "unit"]
    search_fields = ["part_number", "name"]
    list_editable = ["unit_price", "active"]
    ordering = ["part_number"]
