// Staff phone intake: look the caller up without reloading the page.
// Without JavaScript the "Look up" button submits the form and the server
// re-renders it with the same choices.
(function () {
  "use strict";
  var form = document.getElementById("staff-intake");
  if (!form || !window.fetch) return;
  var phone = form.elements.contact_phone;
  var button = form.querySelector("button[name=lookup]");
  var status = document.getElementById("caller-status");

  function fillSelect(select, items) {
    if (!select) return;
    var keep = select.options[0];  // the empty choice ("a new address", "none")
    select.textContent = "";
    select.appendChild(keep);
    items.forEach(function (item) {
      select.appendChild(new Option(item.label, item.id));
    });
    if (items.length === 1 && select.name === "site") select.value = String(items[0].id);
  }

  function fillIfEmpty(input, value) {
    if (input && !input.value && value) input.value = value;
  }

  function lookup(event) {
    if (!phone.value.trim()) return;
    if (event) event.preventDefault();
    var url = form.dataset.lookupUrl + "?phone=" + encodeURIComponent(phone.value);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.error) {
          status.textContent = (data.fields && data.fields.phone && data.fields.phone[0]) || data.detail;
          status.className = "error";
          return;
        }
        status.className = "help";
        status.textContent = data.message;
        if (data.customer && data.customer.url) {
          // A repeat caller: their customer page (every order, the last visit) opens beside the form.
          var link = document.createElement("a");
          link.href = data.customer.url;
          link.id = "caller-360";
          link.target = "_blank";
          link.rel = "noopener";
          link.textContent = form.dataset.customerPageLabel || data.customer.name;
          status.appendChild(document.createTextNode(" "));
          status.appendChild(link);
        }
        // A repeat caller's running contracts and equipment under warranty, one line each.
        var cover = document.getElementById("caller-cover-js");
        if (cover) {
          cover.textContent = "";
          (data.cover || []).forEach(function (line) {
            var item = document.createElement("li");
            item.textContent = line;
            cover.appendChild(item);
          });
        }
        fillSelect(form.elements.site, data.sites || []);
        fillSelect(form.elements.equipment, data.equipment || []);
        if (data.customer) {
          fillIfEmpty(form.elements.contact_name, data.customer.name);
          fillIfEmpty(form.elements.contact_email, data.customer.email);
        }
      })
      .catch(function () {
        // The server can still do it: fall back to the plain "Look up" submit.
        if (event && form.requestSubmit) form.requestSubmit(button);
      });
  }

  button.addEventListener("click", lookup);
  phone.addEventListener("change", function () { lookup(null); });
})();
