// Field roles: fill the hidden position fields of transition forms from the
// browser's geolocation, when the person allows it. Forms work without it.
(function () {
  var forms = document.querySelectorAll("form[data-geo]");
  if (!forms.length || !navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(function (pos) {
    forms.forEach(function (form) {
      form.elements.latitude.value = pos.coords.latitude.toFixed(6);
      form.elements.longitude.value = pos.coords.longitude.toFixed(6);
    });
  }, function () {}, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
})();
