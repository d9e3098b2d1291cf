"""API clients in the admin (superusers): create one (its key is shown once, on the page after
saving), change its scopes, restriction and rate, rotate or revoke its keys (actions)."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.translation import gettext as _, gettext_lazy

from core.errors import InvalidInput

from rest_framework_api_key.models import APIKey as LibraryKey

from .models import SCOPE_CHOICES, ApiClient, ApiKey
from .services import apiclient_create, apiclient_revoke, apiclient_rotate, apiclient_update


# The library's own key model (keys of no client) is not used: its admin page is left out.
if admin.site.is_registered(LibraryKey):
    admin.site.unregister(LibraryKey)


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(label=gettext_lazy("scopes"), choices=SCOPE_CHOICES, required=False,
                                       widget=forms.CheckboxSelectMultiple,
                                       help_text=gettext_lazy("Write includes read."))

    class Meta:
        model = ApiClient
        fields = ["name", "scopes", "partner_company", "customer", "requests_per_minute", "active"]

    def clean(self):
        data = super().clean()
        if data.get("partner_company") and data.get("customer"):
            self.add_error("customer", _("Restrict a client to a partner company or to a customer, not both."))
        return data


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["prefix", "created", "expiry_date", "revoked"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


def _show_key(request, client, key):
    messages.warning(request, _("The key of %(client)s (copy it now, it is not shown again): %(key)s")
                     % {"client": client.name, "key": key})


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ["name", "active", "partner_company", "customer", "requests_per_minute", "created_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    raw_id_fields = ["partner_company", "customer"]
    readonly_fields = ["user", "created_at"]
    inlines = [ApiKeyInline]
    actions = ["rotate_with_grace", "rotate_now", "revoke_keys"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {"name": data["name"], "scopes": data.get("scopes") or [],
                  "partner_company": data.get("partner_company"), "customer": data.get("customer"),
                  "requests_per_minute": data["requests_per_minute"]}
        try:
            if change:
                client = apiclient_update(client_id=obj.pk, active=data.get("active", True), **fields)
            else:
                client, key = apiclient_create(**fields)
                if not data.get("active", True):
                    client = apiclient_update(client_id=client.pk, active=False, **fields)
                _show_key(request, client, key)
        except InvalidInput as error:  # the form checked the same; two admins at once
            raise forms.ValidationError(error.message) from error
        obj.pk, obj.user_id, obj.created_at = client.pk, client.user_id, client.created_at
        obj._state.adding = False

    @admin.action(description=gettext_lazy("Rotate the key (the old one stays valid for a grace period)"))
    def rotate_with_grace(self, request, queryset):
        for client in queryset:
            _show_key(request, client, apiclient_rotate(client_id=client.pk))
        messages.info(request, _("The old keys stop working in %(hours)s hours.")
                      % {"hours": settings.API_KEY_ROTATION_GRACE_HOURS})

    @admin.action(description=gettext_lazy("Rotate the key now (the old one stops working at once)"))
    def rotate_now(self, request, queryset):
        for client in queryset:
            _show_key(request, client, apiclient_rotate(client_id=client.pk, grace=timedelta(0)))

    @admin.action(description=gettext_lazy("Revoke every key"))
    def revoke_keys(self, request, queryset):
        count = sum(apiclient_revoke(client_id=client.pk) for client in queryset)
        messages.success(request, _("%(count)d keys revoked.") % {"count": count})
