// The export page of the imports (templates/admin/core/export.html): "Select all" ticks or clears
// every field's box. django-import-export's page binds this with an inline onchange attribute,
// which the Content-Security-Policy refuses.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector("input.select-toggle");
  if (!toggle) return;
  toggle.addEventListener("change", () => {
    document.querySelectorAll('.selectable-field-export-row input[type="checkbox"]').forEach((box) => {
      box.checked = toggle.checked;
    });
  });
});
