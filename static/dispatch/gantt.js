// The dispatch board's Gantt (vis-timeline): one row per technician with their shifts, absences,
// the company's holidays, bookings and the travel between them, over the day, three days or week
// the page shows. board.js fetches the board and announces it ("dispatch:board"); this script
// draws it and turns drags into drops on the server (POST .../drop/, the same checks as the
// buttons). A refused drop snaps back and says why; after any drop the board reloads, so it
// shows where the order really is. Without vis-timeline the page keeps board.js's plain timeline.
(function () {
  "use strict";
  var root = document.getElementById("dispatch-board");
  var box = document.getElementById("board-gantt");
  var vis = window.vis;
  if (!root || !box || !vis || !vis.Timeline || !vis.DataSet) return;

  var words = JSON.parse(document.getElementById("gantt-words").textContent);
  var status = document.getElementById("gantt-status");
  var tokenInput = document.querySelector("#unassign-template input[name=csrfmiddlewaretoken]");
  var csrf = tokenInput ? tokenInput.value : "";
  var moment = vis.moment || window.moment;

  document.body.classList.add("gantt-on");
  box.hidden = false;
  document.getElementById("gantt-help").hidden = false;

  var items = new vis.DataSet();
  var groups = new vis.DataSet();
  var timeline = null;
  var offset = "+08:00";
  var links = {};
  var lastDrag = 0;     // a drag under way: redraws wait for it
  var pending = null;   // a board that arrived meanwhile

  function say(text, kind) {
    status.textContent = text;
    status.className = "help gantt-status" + (kind ? " gantt-" + kind : "");
  }
  function offsetOf(iso) {
    var m = /([+-]\d\d:\d\d|Z)$/.exec(iso || "");
    return m ? (m[1] === "Z" ? "+00:00" : m[1]) : null;
  }
  // Text, never HTML: names and service types come from people.
  function text(value, className) {
    var span = document.createElement("span");
    if (className) span.className = className;
    span.textContent = value;
    return span;
  }

  function itemsOf(board) {
    var list = [];
    (board.holidays || []).forEach(function (h, i) {
      list.push({ id: "h" + i, start: h.start, end: h.end, type: "background", className: "g-holiday",
                  content: text(h.name), title: h.name });
    });
    board.technicians.forEach(function (t) {
      if (t.all_day) {
        list.push({ id: "s" + t.id, group: t.id, start: board.axis.start, end: board.axis.end,
                    type: "background", className: "g-shift" });
      }
      (t.shifts || []).forEach(function (s, i) {
        list.push({ id: "s" + t.id + "-" + i, group: t.id, start: s[0], end: s[1], type: "background",
                    className: "g-shift" });
      });
      (t.absences || []).forEach(function (a, i) {
        list.push({ id: "a" + t.id + "-" + i, group: t.id, start: a[0], end: a[1], type: "background",
                    className: "g-absent", content: text(words.absent), title: words.absent });
      });
      (t.travel || []).forEach(function (tr, i) {
        list.push({ id: "t" + t.id + "-" + i, group: t.id, start: tr.start, end: tr.end, type: "range",
                    className: "g-travel" + (tr.tight ? " g-travel-tight" : ""), content: text(tr.label),
                    title: tr.label, editable: false, selectable: false });
      });
      t.jobs.forEach(function (j) {
        if (!j.start) return;
        list.push({
          id: "wo" + j.id, workOrder: j.id, version: j.version, group: t.id, start: j.start, end: j.end,
          type: "range", content: text((j.stop ? j.stop + ". " : "") + j.number.slice(-6) + " " + j.service),
          title: j.number + " · " + j.when + " · " + j.service + " · " + j.status_label,
          className: "g-job wo-" + j.id + " status-" + j.status + " prio-bar-" + j.priority + (j.movable ? "" : " g-fixed"),
          editable: j.movable ? { updateTime: true, updateGroup: true, remove: false } : false
        });
      });
    });
    return list;
  }

  function draw(board) {
    if (Date.now() - lastDrag < 1500) { pending = board; return; }
    pending = null;
    links = board.links || {};
    offset = offsetOf(board.axis.start) || offset;
    var rows = board.technicians.map(function (t, i) {
      var label = document.createElement("div");
      label.className = "g-tech state-" + t.state;
      label.appendChild(text(t.name, "g-tech-name"));
      label.appendChild(text(t.state_label, "badge state-badge state-" + t.state));
      // Each day's driving in the booked order against the suggested one (nearest next).
      (t.routes || []).forEach(function (r) {
        var line = text(r.label, "g-route help" + (r.extra_minutes > 0 ? " g-route-extra" : ""));
        line.setAttribute("data-extra-minutes", String(r.extra_minutes));
        label.appendChild(line);
      });
      return { id: t.id, order: i, content: label, title: t.skills + " · " + t.load };
    });
    var keep = {};
    rows.forEach(function (r) { keep[r.id] = true; });
    groups.remove(groups.getIds().filter(function (id) { return !keep[id]; }));
    groups.update(rows);
    items.clear();
    items.add(itemsOf(board));
    if (!timeline) {
      timeline = new vis.Timeline(box, items, groups, options(board));
    } else {
      timeline.setOptions({ start: board.axis.start, end: board.axis.end, min: board.axis.start,
                            max: board.axis.end });
    }
    showNow();
  }

  // The current time, announced by board.js with every answer of board.json (changed or not).
  var clock = { now: null, now_iso: "" };
  function showNow() {
    if (timeline && clock.now !== null && clock.now !== undefined) timeline.setCurrentTime(clock.now_iso);
  }
  document.addEventListener("dispatch:now", function (event) { clock = event.detail; showNow(); });

  function options(board) {
    return {
      moment: function (date) { return moment(date).utcOffset(offset); },  // the company's time zone
      start: board.axis.start, end: board.axis.end, min: board.axis.start, max: board.axis.end,
      zoomable: false, moveable: false, stack: false, orientation: "top", showCurrentTime: true,
      groupOrder: "order", selectable: true, multiselect: false,
      itemsAlwaysDraggable: { item: true, range: false },  // a booking moves without being selected first
      editable: { add: true, updateTime: true, updateGroup: true, remove: false, overrideItems: false },
      snap: function (date) { var step = 15 * 60 * 1000; return Math.round(date / step) * step; },
      // Numbers only on the axis: no month or day names in one language.
      format: {
        minorLabels: { minute: "HH:mm", hour: "HH:mm", weekday: "MM-DD", day: "MM-DD", week: "MM-DD",
                       month: "YYYY-MM", year: "YYYY" },
        majorLabels: { minute: "YYYY-MM-DD", hour: "YYYY-MM-DD", weekday: "YYYY-MM", day: "YYYY-MM",
                       week: "YYYY-MM", month: "YYYY", year: "" }
      },
      tooltip: { followMouse: true, delay: 200 },
      tooltipOnItemUpdateTime: false,
      margin: { item: { horizontal: 0, vertical: 6 } },
      onAdd: onAdd,
      onMove: onMove,
      onMoving: function (item, callback) { lastDrag = Date.now(); callback(item); }
    };
  }

  function send(workOrder, technician, start, end, version) {
    var url = (links.drop || "").replace(links.placeholder, String(workOrder));
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ technician: technician, start: iso(start), end: iso(end), version: version })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; }, function () {
        return { ok: false, body: { detail: words.failed } };
      });
    }, function () { return { ok: false, body: { detail: words.failed } }; });
  }
  function iso(value) { return moment(value).utcOffset(offset).format(); }
  function reload() { lastDrag = 0; root.dispatchEvent(new CustomEvent("dispatch:reload")); }
  function refused(body) {
    say(words.refused.replace("%(reason)s", body.detail || words.failed), "error");
    box.setAttribute("data-last-drop", "refused");
  }

  // An order from the queue dropped on a technician's row.
  function onAdd(item, callback) {
    if (!item.workOrder || !item.group || items.get("wo" + item.workOrder)) return callback(null);
    var start = item.start;
    var end = new Date(start.valueOf() + (item.minutes || 60) * 60000);
    callback({ id: "wo" + item.workOrder, workOrder: item.workOrder, group: item.group, start: start, end: end,
               type: "range", content: text(item.content), className: "g-job g-pending", editable: false });
    say(words.saving);
    box.setAttribute("data-last-drop", "saving");
    send(item.workOrder, item.group, start, end, item.version).then(function (answer) {
      if (answer.ok) {
        say(answer.body.detail, "ok");
        box.setAttribute("data-last-drop", "ok");
      } else {
        items.remove("wo" + item.workOrder);  // snaps back: the order stays in the queue
        refused(answer.body);
      }
      reload();
    });
  }

  // A booking dragged to another time or technician.
  function onMove(item, callback) {
    lastDrag = Date.now();
    say(words.saving);
    box.setAttribute("data-last-drop", "saving");
    send(item.workOrder, item.group, item.start, item.end, item.version).then(function (answer) {
      if (answer.ok) {
        item.version = answer.body.version;
        callback(item);
        say(answer.body.detail, "ok");
        box.setAttribute("data-last-drop", "ok");
      } else {
        callback(null);  // snaps back to where it was
        refused(answer.body);
      }
      reload();
    });
  }

  document.addEventListener("dispatch:board", function (event) { draw(event.detail); });
  window.setInterval(function () { if (pending && Date.now() - lastDrag >= 1500) draw(pending); }, 500);
})();
