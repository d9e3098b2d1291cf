"""Stock in Django admin: locations are master data; levels, the ledger and serial units are read
only, and the ledger's "add" form receives, transfers, adjusts or returns stock through
``inventory.services`` (managers)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.errors import ApplicationError

from . import reorder, requests, services
from .models import PartRequest, PartRequestLine, ReorderPoint, SerialUnit, StockLevel, StockLocation, StockMove


@admin.register(StockLocation)
class StockLocationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "technician", "partner_company", "active", "allow_negative"]
    list_filter = ["kind", "active", "allow_negative"]
    search_fields = ["name", "code"]
    list_select_related = ["technician__user", "partner_company"]



@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ["location", "part", "on_hand", "reserved", "available"]
    list_filter = ["location__kind", "location"]
    search_fields = ["part__part_number", "part__name", "location__name"]
    list_select_related = ["location", "part"]

    @admin.display(description=_("available"))
    def available(self, obj):
        return obj.available


@admin.register(SerialUnit)
class SerialUnitAdmin(ReadOnlyAdmin):
    list_display = ["serial", "part", "location", "status", "work_order_id"]
    list_filter = ["status"]
    search_fields = ["serial", "part__part_number"]
    list_select_related = ["part", "location"]


class StockChangeForm(forms.ModelForm):
    """Receive, transfer, adjust or return: the change is made (through the service) when the form
    validates, so that a refusal (not enough stock, a deactivated location) shows on the form."""

    RECEIPT, TRANSFER, ADJUSTMENT, RETURN = "receipt", "transfer", "adjustment", "return"
    action = forms.ChoiceField(label=_("change"), choices=[
        (RECEIPT, _("Receipt")), (TRANSFER, _("Transfer to another location")),
        (ADJUSTMENT, _("Adjustment (a signed quantity, with a reason)")), (RETURN, _("Return from a job")),
    ])
    destination = forms.ModelChoiceField(
        StockLocation.objects.filter(active=True), required=False, label=_("transfer to"))
    amount = forms.CharField(label=_("quantity"), max_length=20,
                             help_text=_("Whole units unless the part is sold by length, weight or volume; an "
                                         "adjustment that removes stock is negative."))
    serial_numbers = forms.CharField(label=_("serial numbers"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                     help_text=_("Serial-numbered parts: one per line, one per unit."))

    class Meta:
        model = StockMove
        fields = ["action", "location", "part", "amount", "destination", "serial_numbers", "work_order_id", "reason"]

    request = None  # set by StockMoveAdmin.get_form

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        common = {"part_id": data["part"].pk, "quantity": data["amount"], "actor": self.request.user,
                  "serials": data.get("serial_numbers"), "reason": data.get("reason", "")}
        action = data["action"]
        try:
            if action == self.RECEIPT:
                self.moves = services.stock_receive(location_id=data["location"].pk, **common)
            elif action == self.TRANSFER:
                if data.get("destination") is None:
                    raise ValidationError({"destination": _("Choose where the parts go.")})
                self.moves = services.stock_transfer(source_id=data["location"].pk,
                                                     destination_id=data["destination"].pk, **common)
            elif action == self.ADJUSTMENT:
                self.moves = services.stock_adjust(location_id=data["location"].pk, **common)
            else:
                self.moves = services.stock_return(location_id=data["location"].pk,
                                                   work_order_id=data.get("work_order_id"), **common)
        except ApplicationError as exc:
            raise ValidationError(exc.message) from None
        return data


@admin.register(StockMove)
class StockMoveAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "location", "part", "quantity", "reserved_delta", "work_order_id",
                    "counterpart", "reason", "actor"]
    list_filter = ["kind", "location__kind", "location"]
    search_fields = ["part__part_number", "location__name", "reason", "serials"]
    list_select_related = ["location", "part", "counterpart", "actor"]
    date_hierarchy = "created_at"
    form = StockChangeForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:  # a ledger row is only looked at
            kwargs["form"] = forms.ModelForm
            return super().get_form(request, obj, change=change, **kwargs)
        form = super().get_form(request, obj, change=change, **kwargs)
        return type("StockChangeFormFor", (form,), {"request": request})

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(StockChangeForm.Meta.fields)
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["created_at", "kind", "location", "part", "quantity", "reserved_delta", "work_order_id",
                "counterpart", "serials", "reason", "actor"]

    def save_model(self, request, obj, form, change):
        # Written by the service in the form's clean(); the page links to the first row it wrote.
        written = form.moves[0]
        for f in obj._meta.concrete_fields:
            setattr(obj, f.attname, getattr(written, f.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PartRequestLineInline(admin.TabularInline):
    model = PartRequestLine
    extra = 0
    can_delete = False
    readonly_fields = ["part", "quantity", "serials"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PartRequest)
class PartRequestAdmin(admin.ModelAdmin):
    """Part requests are made by technicians (pages, API); here they are approved, rejected and shipped
    through ``inventory.requests`` (admin actions), never edited."""

    list_display = ["id", "technician", "purpose", "work_order_id", "status", "source", "destination", "created_at"]
    list_filter = ["status", "purpose"]
    search_fields = ["technician__user__username", "technician__user__first_name", "lines__part__part_number"]
    list_select_related = ["technician__user", "source", "destination"]
    inlines = [PartRequestLineInline]
    actions = ["ship_requests"]
    readonly_fields = [f.name for f in PartRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Ship the selected approved requests"))
    def ship_requests(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            try:
                requests.part_request_ship(request_id=pk, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{pk}: {exc.message}", level="error")
            else:
                self.message_user(request, _("Request %(id)s shipped.") % {"id": pk})


@admin.register(ReorderPoint)
class ReorderPointAdmin(admin.ModelAdmin):
    """Reorder points, set through ``inventory.reorder.reorder_point_set`` (the flag starts from the stock now)."""

    list_display = ["location", "part", "point", "quantity", "below"]
    list_filter = ["below", "location__kind"]
    search_fields = ["part__part_number", "location__name"]
    list_select_related = ["location", "part"]
    autocomplete_fields = ["part"]

    def save_model(self, request, obj, form, change):
        saved = reorder.reorder_point_set(location=obj.location, part=obj.part, point=obj.point,
                                          quantity=obj.quantity, actor=request.user)
        obj.pk, obj.below = saved.pk, saved.below
