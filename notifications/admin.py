"""The outbox in admin: failed rows (after the last retry) show here, with an action to send them again."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import webhooks
from .models import Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import notification_retry


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox. Failed rows (after the last retry) show here; "send again" retries them."""

    list_display = ["id", "template", "channel", "recipient", "status", "attempts", "next_attempt_at", "sent_at",
                    "last_error", "subject_id"]
    list_filter = ["status", "channel", "template"]
    search_fields = ["=recipient", "=subject_id"]
    show_full_result_count = False
    readonly_fields = ["subject_id", "channel", "recipient", "template", "language", "payload", "status", "attempts",
                       "next_attempt_at", "last_error", "created_at", "sent_at", "delivery_key"]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send the failed ones again"))
    def send_again(self, request, queryset):
        count = notification_retry(notification_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(n)d notifications queued again.") % {"n": count}, messages.SUCCESS)


# --- Webhook endpoints and their delivery log (notifications/webhooks.py) ----------------------


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEndpoint.Event.choices, widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "contact_email", "is_active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        webhooks.url_check(url)
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Receivers of signed events. The secret is shown once, when the endpoint is made (or rotated)."""

    form = WebhookEndpointForm
    list_display = ["name", "url", "is_active", "failing_since", "disabled_at", "created_by", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret_hint", "created_by", "created_at", "failing_since", "disabled_at", "disabled_reason"]
    actions = ["rotate_secret"]

    @admin.display(description=_("secret"))
    def secret_hint(self, obj):
        if not obj or not obj.secret:
            return _("Made when you save; shown once.")
        return f"{obj.secret[:10]}… " + str(_("(shown once, when made)"))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.secret = webhooks.secret_new()
            obj.created_by = request.user
        if obj.is_active and obj.disabled_at is not None:  # activated again by hand: a fresh start
            obj.disabled_at, obj.failing_since, obj.disabled_reason = None, None, ""
        super().save_model(request, obj, form, change)
        if not change:
            self._show_secret(request, obj)

    def _show_secret(self, request, obj):
        self.message_user(request, format_html(
            _("The signing secret of {name} is <code>{secret}</code>. Copy it now: it is not shown again."),
            name=obj.name, secret=obj.secret), messages.WARNING)

    @admin.action(description=_("Make a new secret (shown once)"))
    def rotate_secret(self, request, queryset):
        for obj in queryset:
            obj.secret = webhooks.secret_new()
            obj.save(update_fields=["secret"])
            self._show_secret(request, obj)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["attempted_at", "status_code", "duration_ms", "error", "response_body"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: each event sent to an endpoint, with every attempt and the receiver's answer."""

    list_display = ["id", "event_type", "endpoint", "subject_id", "status", "attempts", "created_at", "sent_at",
                    "last_error"]
    list_filter = ["status", "recipient"]
    search_fields = ["=subject_id"]
    show_full_result_count = False
    fields = ["event_type", "endpoint", "subject_id", "status", "attempts", "next_attempt_at", "created_at",
              "sent_at", "last_error", "delivery_key", "body"]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["replay"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(channel=Notification.Channel.ENDPOINT)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("event"))
    def event_type(self, obj):
        return (obj.payload or {}).get("type", "")

    @admin.display(description=_("endpoint"))
    def endpoint(self, obj):
        return WebhookEndpoint.objects.filter(pk=obj.recipient).first() if obj.recipient.isdigit() else None

    @admin.display(description=_("body"))
    def body(self, obj):
        return webhooks.body_of(obj).decode()

    def has_replay_permission(self, request):
        return request.user.has_perm("notifications.change_webhookendpoint")

    @admin.action(description=_("Replay (send again with the same webhook-id)"), permissions=["replay"])
    def replay(self, request, queryset):
        count = webhooks.deliveries_replay(notification_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(n)d deliveries queued again.") % {"n": count}, messages.SUCCESS)
