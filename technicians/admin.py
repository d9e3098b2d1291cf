from django.contrib import admin

from .models import PartnerCompany, Skill, Technician, TechnicianSkill


class TechnicianSkillInline(admin.TabularInline):
    model = TechnicianSkill
    extra = 1


@admin.register(Technician)
class TechnicianAdmin(admin.ModelAdmin):
    list_display = ["__str__", "phone", "partner_company", "active", "last_seen_at"]
    list_filter = ["active", "partner_company", "skills"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "phone"]
    list_select_related = ["user", "partner_company"]
    autocomplete_fields = ["user"]
    inlines = [TechnicianSkillInline]


@admin.register(PartnerCompany)
class PartnerCompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "contact_phone", "active"]
    list_filter = ["active"]
    search_fields = ["name", "contact_phone"]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
