/*
 * "These may solve it": knowledge-base suggestions under a problem description.
 *
 * Attach to any textarea:
 *   <textarea name="description" data-kb-suggest
 *             data-kb-suggest-url="/kb/suggest/"              (optional, this is the default)
 *             data-kb-suggest-label="These may solve it:"     (optional, translated by the page)
 *             data-kb-service-type="service_type"             (optional: name of the service-type field)
 *             data-kb-suggest-audience="staff"></textarea>   (optional: agents' intake, adds staff articles)
 *   <script src="{% static 'knowledge/suggest.js' %}" defer></script>
 *
 * As the person types (after a pause) it asks /kb/suggest/ and shows up to five
 * links to public articles under the textarea; they open in a new tab, so the
 * form keeps what was typed. In the same form it keeps two hidden fields:
 *   kb_shown  - ids of every article it showed,
 *   kb_opened - ids of the articles the person opened,
 * so that the view handling the form can call
 * knowledge.services.suggestion_outcome_record(work_order=..., shown=..., opened=...)
 * and record that the customer still chose to submit.
 * Without JavaScript nothing changes: the form works as before.
 */
(function () {
  "use strict";

  var MIN_CHARS = 4;
  var DELAY_MS = 400;

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

  function remember(input, id) {
    var ids = input.value ? input.value.split(",") : [];
    if (ids.indexOf(String(id)) === -1) {
      ids.push(String(id));
      input.value = ids.slice(-20).join(",");
    }
  }

  function attach(textarea) {
    var form = textarea.form;
    var url = textarea.getAttribute("data-kb-suggest-url") || "/kb/suggest/";
    var label = textarea.getAttribute("data-kb-suggest-label") || "These may solve it:";
    var typeName = textarea.getAttribute("data-kb-service-type");
    var audience = textarea.getAttribute("data-kb-suggest-audience");
    var shown = form ? hidden(form, "kb_shown") : null;
    var opened = form ? hidden(form, "kb_opened") : null;

    var box = document.createElement("div");
    box.className = "kb-suggest";
    box.hidden = true;
    box.setAttribute("aria-live", "polite");
    textarea.insertAdjacentElement("afterend", box);

    var timer = null;
    var lastQuery = null;
    var controller = null;

    function serviceType() {
      if (!form || !typeName) return "";
      var field = form.elements[typeName];
      return field && field.value ? field.value : "";
    }

    function render(results) {
      box.textContent = "";
      if (!results.length) {
        box.hidden = true;
        return;
      }
      var title = document.createElement("p");
      title.textContent = label;
      var list = document.createElement("ul");
      results.forEach(function (item) {
        var li = document.createElement("li");
        var link = document.createElement("a");
        link.href = item.url;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = item.title;  // text, never HTML
        link.addEventListener("click", function () {
          if (opened) remember(opened, item.id);
        });
        link.addEventListener("auxclick", function (event) {
          // The middle button opens a new tab without a "click" (the right one only a menu).
          if (opened && event.button === 1) remember(opened, item.id);
        });
        li.appendChild(link);
        if (item.summary) {
          var summary = document.createElement("small");
          summary.textContent = item.summary;
          li.appendChild(summary);
        }
        list.appendChild(li);
        if (shown) remember(shown, item.id);
      });
      box.appendChild(title);
      box.appendChild(list);
      box.hidden = false;
    }

    function lookup() {
      var q = textarea.value.trim();
      var type = serviceType();
      var key = q + "\u0000" + type;
      if (key === lastQuery) return;
      lastQuery = key;
      if (q.length < MIN_CHARS) {
        render([]);
        return;
      }
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      var params = new URLSearchParams({ q: q.slice(0, 200) });
      if (type) params.set("service_type", type);
      if (audience) params.set("audience", audience);
      fetch(url + "?" + params.toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { render(data.results || []); })
        .catch(function () { /* offline or aborted: leave the form alone */ });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(lookup, DELAY_MS);
    }

    textarea.addEventListener("input", schedule);
    if (form && typeName && form.elements[typeName]) {
      form.elements[typeName].addEventListener("change", schedule);
    }
    if (textarea.value.trim().length >= MIN_CHARS) schedule();
  }

  function init() {
    var areas = document.querySelectorAll("textarea[data-kb-suggest]");
    for (var i = 0; i < areas.length; i++) attach(areas[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
