"""Importing and exporting customers, sites and equipment (django-import-export resources).

Each file's rows are matched on a key, so importing the same file twice changes nothing:

- customers on ``customer_code`` (``Customer.code``). A row whose code is new but whose phone
  number belongs to a customer without a code (one who called before the import) takes that
  customer over: the code is added, not a second customer with the same number;
- sites on ``customer_code`` + ``site_name`` (the site's label);
- equipment on ``serial_number``.

What the rows refer to (customer codes, sites, phone numbers already taken) is read once per
file in ``prepare``; the checks shared by all imports are core/imports.py's.
"""


from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets
from import_export.instance_loaders import CachedInstanceLoader

from core.imports import (
    ChoiceWidget, Column, DateWidget, LookupWidget, MasterDataResource, PhoneWidget, YesNoWidget, check_coordinates,
    parse_date,
)

from core.geocoding import in_bounds
from .models import Customer, Equipment, Site
from .services import sites_geocode_pending_after_commit

# Values a tier or language cell may hold besides the stored ones (any case).
LANGUAGE_ALIASES = {
    "zh-hans": "zh-hans", "zh": "zh-hans", "zh-cn": "zh-hans", "中文": "zh-hans", "chinese": "zh-hans",
    "en": "en", "english": "en", "英文": "en", "英语": "en",
}


class SiteLookupWidget(LookupWidget):
    def key(self, value, row):
        return (str(row.get("customer_code") or ""), str(value))


def _stamp(instance):
    """A row the import writes is changed now (``updated_at``, what the API's sync reads): bulk
    updates send no model's ``save()``, which would set it."""
    instance.updated_at = timezone.now()


def _customer_column():
    return Column("customer_code", _("customer code"), required=True)


class CustomerResource(MasterDataResource):
    columns = (
        _customer_column(),
        Column("name", _("name"), required=True),
        Column("phone", _("mobile phone"), required=True),
        Column("email", _("email")),
        Column("tier", _("tier")),
        Column("language", _("language")),
        Column("notes", _("notes")),
    )
    key_columns = ("customer_code",)

    code = fields.Field(attribute="code", column_name="customer_code", widget=widgets.CharWidget())
    name = fields.Field(attribute="name", column_name="name", widget=widgets.CharWidget())
    phone = fields.Field(attribute="phone", column_name="phone", widget=PhoneWidget())
    email = fields.Field(attribute="email", column_name="email", widget=widgets.CharWidget())
    tier = fields.Field(
        attribute="tier", column_name="tier", widget=ChoiceWidget(Customer.Tier.choices, default=Customer.Tier.STANDARD)
    )
    language = fields.Field(
        attribute="language",
        column_name="language",
        widget=ChoiceWidget([("zh-hans", "中文"), ("en", "English")], LANGUAGE_ALIASES, default="zh-hans"),
    )
    notes = fields.Field(attribute="notes", column_name="notes", widget=widgets.CharWidget())

    class Meta(MasterDataResource.Meta):
        model = Customer
        fields = ("code", "name", "phone", "email", "tier", "language", "notes")
        import_id_fields = ("code",)
        instance_loader_class = CachedInstanceLoader
        use_bulk = True
        batch_size = 1000
        # Checked here, once per file, rather than with a query per row (check_row).
        clean_model_instances = False

    def prepare(self, dataset, **kwargs):
        phone_widget = self.fields["phone"].widget
        self.phone_line = {}
        self.phone_repeated = {}
        for number, row in enumerate(dataset.dict, start=2):
            try:
                phone = phone_widget.clean(row.get("phone"))
            except ValueError:
                continue
            if phone in self.phone_line:
                self.phone_repeated[number] = self.phone_line[phone]
            else:
                self.phone_line[phone] = number
        owners = Customer.objects.filter(phone__in=list(self.phone_line)).values_list("phone", "code", "pk")
        self.phone_owner = {phone: (code, pk) for phone, code, pk in owners}
        self.adopted = {}

    def check_row(self, row, errors, line):
        code = str(row["customer_code"])
        try:
            phone = self.fields["phone"].widget.clean(row.get("phone"))
        except ValueError:
            return  # reported with the column when the row is read
        first = self.phone_repeated.get(line)
        if first:
            errors["phone"] = [_("The same phone number is already on line %(line)s of this file.") % {"line": first}]
            return
        owner = self.phone_owner.get(phone)
        if owner and owner[0] not in (None, code):
            errors["phone"] = [
                _("This phone number belongs to customer %(code)s.") % {"code": owner[0]}
            ]
        email = row.get("email")
        if email:
            try:
                validate_email(str(email))
            except ValidationError:
                errors["email"] = [_("Enter a valid email address.")]

    def get_bulk_update_fields(self):
        # The code is the key, but a customer taken over by phone number gets it in the update.
        return [*self.fields, "updated_at"]

    def before_save_instance(self, instance, row, **kwargs):
        _stamp(instance)

    def get_instance(self, instance_loader, row):
        instance = super().get_instance(instance_loader, row)
        if instance is None:
            # A customer who called before the import (no code yet) is taken over by their number.
            try:
                phone = self.fields["phone"].widget.clean(row.get("phone"))
            except ValueError:
                return None
            owner = self.phone_owner.get(phone)
            if owner and owner[0] is None:
                instance = Customer.objects.get(pk=owner[1])
        return instance


class SiteResource(MasterDataResource):
    columns = (
        _customer_column(),
        Column("site_name", _("site name"), required=True),
        Column("address", _("address"), required=True),
        Column("city", _("city")),
        Column("latitude", _("latitude")),
        Column("longitude", _("longitude")),
    )
    key_columns = ("customer_code", "site_name")

    customer = fields.Field(
        attribute="customer", column_name="customer_code", widget=LookupWidget(Customer, "code")
    )
    label = fields.Field(attribute="label", column_name="site_name", widget=widgets.CharWidget())
    address = fields.Field(attribute="address", column_name="address", widget=widgets.CharWidget())
    city = fields.Field(attribute="city", column_name="city", widget=widgets.CharWidget())
    latitude = fields.Field(attribute="latitude", column_name="latitude", widget=widgets.DecimalWidget())
    longitude = fields.Field(attribute="longitude", column_name="longitude", widget=widgets.DecimalWidget())

    class Meta(MasterDataResource.Meta):
        model = Site
        fields = ("customer", "label", "address", "city", "latitude", "longitude")
        import_id_fields = ("customer", "label")
        use_bulk = True
        batch_size = 1000
        # References, ranges and lengths are checked in check_row, once per file, not per row.
        clean_model_instances = False

    def prepare(self, dataset, **kwargs):
        codes = {str(c) for c in dataset["customer_code"] if c not in (None, "")}
        self.fields["customer"].widget.found = {c.code: c for c in Customer.objects.filter(code__in=codes)}
        self.sites = {}
        self.places = {}  # site id -> (address, latitude, longitude) before the import
        for site in Site.objects.filter(customer__code__in=codes).select_related("customer"):
            self.sites.setdefault((site.customer.code, site.label), []).append(site)
            self.places[site.pk] = (site.address, site.latitude, site.longitude)

    def check_row(self, row, errors, line):
        if str(row["customer_code"]) not in self.fields["customer"].widget.found:
            errors["customer_code"] = [_("No customer has the code %(code)s.") % {"code": row["customer_code"]}]
        row["address"] = Site.normalize_address(str(row["address"]))
        lat, lng = row.get("latitude"), row.get("longitude")
        if lat not in (None, "") and lng not in (None, ""):
            # Latitude and longitude given the wrong way round (the region says which is which).
            try:
                a, b = float(lat), float(lng)
            except (TypeError, ValueError):
                pass  # check_coordinates says what is wrong
            else:
                if not in_bounds(a, b) and in_bounds(b, a):
                    row["latitude"], row["longitude"] = lng, lat
        check_coordinates(row, errors, "latitude", "longitude")

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        # Empty coordinate cells mean "not given": a site keeps the point it has (geocoded, or
        # placed by hand on the dispatch board), so importing the same file again changes nothing.
        if field.attribute in ("latitude", "longitude") and instance.pk and row.get(field.column_name) in (None, ""):
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def before_save_instance(self, instance, row, **kwargs):
        _stamp(instance)
        # A new site, or one whose address or coordinates the file changes, is located again after
        # the import (customers.services.sites_locate: given coordinates are checked against the
        # region and kept as exact; otherwise the address is geocoded).
        before = self.places.get(instance.pk)
        if before is None:
            return
        address, lat, lng = before
        point_changed = (instance.latitude, instance.longitude) != (lat, lng)
        if instance.address != address or point_changed:
            if not point_changed:
                instance.latitude = instance.longitude = None  # the old address's point
            instance.location_precision = Site.Precision.PENDING
            instance.location_area = ""

    def get_bulk_update_fields(self):
        return [*super().get_bulk_update_fields(), "location_precision", "location_area", "updated_at"]

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if not kwargs.get("dry_run"):
            sites_geocode_pending_after_commit()

    def get_instance(self, instance_loader, row):
        matches = self.sites.get((str(row["customer_code"]), str(row["site_name"])), [])
        if len(matches) > 1:
            raise ValidationError(
                {"site_name": [_("This customer has several sites with this name; rename them in the admin first.")]}
            )
        return matches[0] if matches else None


class EquipmentResource(MasterDataResource):
    columns = (
        Column("serial_number", _("serial number"), required=True),
        _customer_column(),
        Column("site_name", _("site name")),
        Column("brand", _("brand")),
        Column("model", _("model"), required=True),
        Column("install_date", _("install date")),
        Column("warranty_end", _("warranty end")),
        Column("active", _("in service")),
    )
    key_columns = ("serial_number",)

    serial = fields.Field(attribute="serial", column_name="serial_number", widget=widgets.CharWidget())
    customer = fields.Field(
        attribute="customer", column_name="customer_code", widget=LookupWidget(Customer, "code")
    )
    site = fields.Field(attribute="site", column_name="site_name", widget=SiteLookupWidget(Site, "label"))
    brand = fields.Field(attribute="brand", column_name="brand", widget=widgets.CharWidget())
    model = fields.Field(attribute="model", column_name="model", widget=widgets.CharWidget())
    install_date = fields.Field(attribute="install_date", column_name="install_date", widget=DateWidget())
    warranty_end = fields.Field(attribute="warranty_end", column_name="warranty_end", widget=DateWidget())
    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget(default=True))

    class Meta(MasterDataResource.Meta):
        model = Equipment
        fields = ("serial", "customer", "site", "brand", "model", "install_date", "warranty_end", "active")
        import_id_fields = ("serial",)
        instance_loader_class = CachedInstanceLoader
        use_bulk = True
        batch_size = 1000
        # References, dates and lengths are checked in check_row, once per file, not per row.
        clean_model_instances = False

    def prepare(self, dataset, **kwargs):
        codes = {str(c) for c in dataset["customer_code"] if c not in (None, "")}
        customers = {c.code: c for c in Customer.objects.filter(code__in=codes)}
        self.fields["customer"].widget.found = customers
        sites, self.ambiguous_sites = {}, set()
        for site in Site.objects.filter(customer__code__in=codes).select_related("customer"):
            key = (site.customer.code, site.label)
            if key in sites:
                self.ambiguous_sites.add(key)
            sites[key] = site
        self.fields["site"].widget.found = sites

    def check_row(self, row, errors, line):
        code = str(row["customer_code"])
        if code not in self.fields["customer"].widget.found:
            errors["customer_code"] = [_("No customer has the code %(code)s.") % {"code": code}]
            return
        site_name = row.get("site_name")
        if site_name not in (None, ""):
            key = (code, str(site_name))
            if key not in self.fields["site"].widget.found:
                errors["site_name"] = [
                    _("Customer %(code)s has no site named %(site)s.") % {"code": code, "site": site_name}
                ]
            elif key in self.ambiguous_sites:
                errors["site_name"] = [_("Customer %(code)s has several sites with this name.") % {"code": code}]
        dates = {}
        for column in ("install_date", "warranty_end"):
            try:
                dates[column] = parse_date(row.get(column))
            except ValueError as error:
                errors[column] = [str(error)]
        if dates.get("install_date") and dates.get("warranty_end") and dates["warranty_end"] < dates["install_date"]:
            errors["warranty_end"] = [_("The warranty cannot end before the installation date.")]

    def get_bulk_update_fields(self):
        return [*super().get_bulk_update_fields(), "updated_at"]

    def before_save_instance(self, instance, row, **kwargs):
        _stamp(instance)
