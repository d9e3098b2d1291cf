"""The outbox in admin: failed rows (after the last retry) show here, with an action to send them again."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import Notification
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
