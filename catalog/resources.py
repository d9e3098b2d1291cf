"""Importing and exporting the parts list (django-import-export), matched on the part number."""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets
from import_export.instance_loaders import CachedInstanceLoader

from core.imports import Column, MasterDataResource, YesNoWidget

from .models import Part


class PartResource(MasterDataResource):
    columns = (
        Column("part_number", _("part number"), required=True),
        Column("name", _("name"), required=True),
        Column("unit", _("unit")),
        Column("unit_price", _("unit price"), required=True),
        Column("active", _("active")),
    )
    key_columns = ("part_number",)

    part_number = fields.Field(attribute="part_number", column_name="part_number", widget=widgets.CharWidget())
    name = fields.Field(attribute="name", column_name="name", widget=widgets.CharWidget())
    unit = fields.Field(attribute="unit", column_name="unit", widget=widgets.CharWidget(), default="pcs")
    unit_price = fields.Field(attribute="unit_price", column_name="unit_price", widget=widgets.DecimalWidget())
    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget(default=True))

    class Meta(MasterDataResource.Meta):
        model = Part
        fields = ("part_number", "name", "unit", "unit_price", "active")
        import_id_fields = ("part_number",)
        instance_loader_class = CachedInstanceLoader
        use_bulk = True
        batch_size = 1000
        clean_model_instances = False  # checked in check_row

    def check_row(self, row, errors, line):
        if row.get("unit") in (None, ""):
            row["unit"] = "pcs"
        try:
            price = Decimal(str(row["unit_price"]).replace(",", "").replace("¥", "").replace("￥", "").strip())
        except InvalidOperation:
            errors["unit_price"] = [_("Enter a number.")]
            return
        if price < 0 or price >= Decimal("100000000") or price != price.quantize(Decimal("0.01")):
            errors["unit_price"] = [_("Enter a price of 0 or more with at most two decimals.")]
        else:
            row["unit_price"] = str(price)
