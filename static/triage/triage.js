/*
 * Triage suggestions on the phone-intake page (templates/workorders/intake/staff_intake.html).
 *
 *   <div id="triage-suggest" data-url="/api/v1/triage/suggest/" data-label-*="..." hidden></div>
 *
 * As the agent types the description (after a pause) it asks the API for the suggested service
 * type, priority and skills, and for likely duplicates of the caller's open orders, and shows
 * them with an "Accept" button that fills the service type and priority fields. Nothing is
 * filled without that press. Hidden fields tell the server what was suggested and whether it was
 * accepted (triage_version, triage_service_type, triage_priority, triage_accepted); the creation
 * event keeps them, for the acceptance rate. Without JavaScript the form works as before.
 */
(function () {
  "use strict";

  var DELAY_MS = 600;
  var MIN_CHARS = 4;

  function hidden(form, name) {
    var input = form.querySelector('input[type=hidden][name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    return input;
  }

  function text(tag, content, className) {
    var node = document.createElement(tag);
    node.textContent = content;
    if (className) node.className = className;
    return node;
  }

  function percent(value) {
    return Math.round(value * 100) + "%";
  }

  function attach(box) {
    var form = box.closest("form");
    var description = form.querySelector('[name="description"]');
    var typeField = form.querySelector('[name="service_type"]');
    var priorityField = form.querySelector('[name="priority"]');
    var phoneField = form.querySelector('[name="contact_phone"]');
    var siteField = form.querySelector('[name="site"]');
    var csrf = form.querySelector('[name="csrfmiddlewaretoken"]');
    var label = function (name) { return box.getAttribute("data-label-" + name) || name; };
    var version = hidden(form, "triage_version");
    var suggestedType = hidden(form, "triage_service_type");
    var suggestedPriority = hidden(form, "triage_priority");
    var accepted = hidden(form, "triage_accepted");
    var timer = null;
    var asked = "";

    function render(answer) {
      box.textContent = "";
      if (answer.suggested) {
        version.value = answer.model_version || "";
        suggestedType.value = answer.service_type ? answer.service_type.id : "";
        suggestedPriority.value = answer.priority ? answer.priority.value : "";
        accepted.value = "0";
        var line = text("p", label("suggested") + " ", "triage-line");
        if (answer.service_type) {
          line.appendChild(text("strong", answer.service_type.name, "triage-type"));
          line.appendChild(document.createTextNode(" (" + percent(answer.service_type.confidence) + ")"));
        }
        if (answer.priority) {
          line.appendChild(document.createTextNode(" · " + label("priority") + " "));
          line.appendChild(text("strong", answer.priority.label, "triage-priority"));
          line.appendChild(document.createTextNode(" (" + percent(answer.priority.confidence) + ")"));
        }
        if (answer.skills && answer.skills.length) {
          line.appendChild(document.createTextNode(" · " + label("skills") + " " +
            answer.skills.map(function (s) { return s.name; }).join(", ")));
        }
        box.appendChild(line);
        var button = text("button", label("accept"), "triage-accept");
        button.type = "button";
        button.addEventListener("click", function () {
          if (answer.service_type && typeField) typeField.value = String(answer.service_type.id);
          if (answer.priority && priorityField) priorityField.value = String(answer.priority.value);
          accepted.value = "1";
          button.disabled = true;
          button.textContent = label("accepted");
        });
        box.appendChild(button);
      } else {
        version.value = suggestedType.value = suggestedPriority.value = accepted.value = "";
        if (answer.message) box.appendChild(text("p", answer.message, "help triage-nothing"));
      }
      if (answer.duplicates && answer.duplicates.length) {
        box.appendChild(text("p", label("duplicates"), "triage-duplicates-title"));
        var list = document.createElement("ul");
        list.className = "triage-duplicates";
        answer.duplicates.forEach(function (d) {
          var item = document.createElement("li");
          var link = text("a", d.number, "triage-duplicate");
          link.href = d.url;
          link.target = "_blank";
          link.rel = "noopener";
          item.appendChild(link);
          item.appendChild(document.createTextNode(" · " + d.description));
          list.appendChild(item);
        });
        box.appendChild(list);
      }
      box.hidden = !box.childNodes.length;
    }

    function ask() {
      var value = description.value.trim();
      if (value.length < MIN_CHARS || value === asked) return;
      asked = value;
      var body = { description: value, contact_phone: phoneField ? phoneField.value : "" };
      if (siteField && siteField.value) body.site = parseInt(siteField.value, 10);
      fetch(box.getAttribute("data-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.value : "" },
        body: JSON.stringify(body),
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (answer && description.value.trim() === value) render(answer);
      }).catch(function () { /* suggestions are a help, never a blocker */ });
    }

    description.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY_MS);
    });
    if (description.value.trim()) ask();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("triage-suggest");
    if (box) attach(box);
  });
})();
