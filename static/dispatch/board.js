// The dispatch board. The server sends the board as data (strings already
// chosen and translated); this script places it: the queue, the technicians
// with their day timelines, and a Leaflet map. Every few seconds it asks
// board.json again and redraws only when something changed.
(function () {
  "use strict";
  var root = document.getElementById("dispatch-board");
  if (!root) return;

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  var words = readJSON("dispatch-words") || {};
  var links = {};
  function url(kind, id) {
    return links[kind] ? links[kind].replace(links.placeholder, String(id)) : "";
  }

  // Build an element: el("td", {className: "x"}, [children or text]).
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      // Through the element's style object: a style attribute would break the site's CSP (no inline style).
      if (key === "style") node.style.cssText = props[key];
      else if (key.indexOf("data-") === 0 || key === "title" || key === "href") node.setAttribute(key, props[key]);
      else node[key] = props[key];
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === "") return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function link(href, text, className) {
    return href ? el("a", { href: href, className: className || "" }, [text]) : el("span", {}, [text]);
  }

  // --- queue -------------------------------------------------------------
  function renderQueue(queue) {
    document.getElementById("queue-summary").textContent = queue.summary;
    var body = document.getElementById("queue-rows");
    body.textContent = "";
    if (!queue.rows.length) {
      body.appendChild(el("tr", {}, [el("td", { colSpan: 7 }, [words.nothing_waiting])]));
      return;
    }
    var gantt = document.body.classList.contains("gantt-on");
    queue.rows.forEach(function (r) {
      var row = el("tr", { "data-work-order": r.id }, [
        el("td", {}, [link(url("detail", r.id), r.number)]),
        el("td", {}, [el("span", { className: "prio-" + r.priority }, [r.priority_label])]),
        el("td", {}, [r.service]),
        el("td", {}, [r.city ? el("strong", {}, [r.city]) : null, r.city ? " · " : "", r.address,
          r.place_label ? el("div", {}, [el("span", { className: "badge place-" + r.place }, [r.place_label])]) : null]),
        el("td", {}, [r.waited, r.due ? el("div", { className: "help" }, [r.due]) : null].concat(
          (r.sla || []).map(function (s) { return el("div", {}, [el("span", { className: "badge sla-" + s.state }, [s.text])]); })
        )),
        el("td", {}, [r.window]),
        el("td", {}, [link(url("candidates", r.id), words.candidates, "button")])
      ]);
      if (gantt) {
        // Dragged onto the Gantt (gantt.js): vis-timeline reads the item from the drag's "text".
        row.draggable = true;
        row.classList.add("queue-draggable");
        row.addEventListener("dragstart", function (ev) {
          ev.dataTransfer.effectAllowed = "move";
          ev.dataTransfer.setData("text", JSON.stringify({
            id: "wo" + r.id, workOrder: r.id, version: r.version, minutes: r.minutes, type: "range", content: r.number
          }));
        });
      }
      body.appendChild(row);
    });
  }

  // --- technicians and their day ------------------------------------------
  function unassignForm(jobId) {
    var form = document.getElementById("unassign-template").cloneNode(true);
    form.removeAttribute("id");
    form.hidden = false;
    form.action = url("assign", jobId);
    form.appendChild(el("button", { type: "submit", className: "link" }, [words.unassign]));
    return form;
  }

  // The current time: beside the board in each answer of board.json (not in the board, whose
  // fingerprint it would change on every poll): where it falls on the axis in percent, or null.
  var clock = { now: null, now_iso: "" };
  function placeNow(track) {
    var line = track.querySelector(".tl-now");
    if (clock.now === null || clock.now === undefined) {
      if (line) track.removeChild(line);
      return;
    }
    if (!line) {
      line = el("span", { className: "tl-now" }, []);
      track.insertBefore(line, track.querySelector(".tl-bar"));  // under the bookings
    }
    line.style.left = clock.now + "%";
  }
  function moveNow() {
    document.querySelectorAll("#technician-rows .tl-track").forEach(placeNow);
  }

  function renderTechnicians(board) {
    var axis = document.getElementById("timeline-axis");
    axis.textContent = "";
    board.axis.hours.forEach(function (h) {
      axis.appendChild(el("span", { style: "left:" + h.left + "%" }, [h.label]));
    });
    var list = document.getElementById("technician-rows");
    var open = {};
    list.querySelectorAll("li[data-technician] details[open]").forEach(function (d) {
      open[d.closest("li").getAttribute("data-technician")] = true;
    });
    list.textContent = "";
    if (!board.technicians.length) {
      list.appendChild(el("li", {}, [words.no_technicians]));
      return;
    }
    var fragment = document.createDocumentFragment();
    board.technicians.forEach(function (t) {
      var track = el("div", { className: "tl-track" }, []);
      if (t.all_day) track.appendChild(el("span", { className: "tl-band tl-band-all" }, []));
      t.bands.forEach(function (b) {
        track.appendChild(el("span", { className: "tl-band", style: "left:" + b[0] + "%;width:" + b[1] + "%" }, []));
      });
      (board.holidays || []).forEach(function (h) {
        track.appendChild(el("span", { className: "tl-holiday", title: h.name,
          style: "left:" + h.bar[0] + "%;width:" + h.bar[1] + "%" }, []));
      });
      (t.absent || []).forEach(function (b) {
        track.appendChild(el("span", { className: "tl-absent", style: "left:" + b[0] + "%;width:" + b[1] + "%" }, []));
      });
      (t.travel || []).forEach(function (tr) {
        track.appendChild(el("span", { className: "tl-travel" + (tr.tight ? " tl-travel-tight" : ""), title: tr.label,
          style: "left:" + tr.bar[0] + "%;width:" + tr.bar[1] + "%" }, []));
      });
      placeNow(track);
      t.jobs.forEach(function (j) {
        if (!j.bar) return;
        var times = board.range && board.range.days > 1 ? j.when : j.when.slice(6);  // "11-23 09:00–11:00" -> "09:00–11:00"
        track.appendChild(el("a", {
          className: "tl-bar status-" + j.status + " prio-bar-" + j.priority, href: url("candidates", j.id),
          title: j.number + " · " + times + " · " + j.service + " · " + j.status_label,
          style: "left:" + j.bar[0] + "%;width:" + j.bar[1] + "%", "data-work-order": j.id
        }, [j.number.slice(-6) + " " + times]));
      });
      var info = el("div", { className: "tl-info" }, [
        el("div", { className: "tech-name" }, [
          el("strong", {}, [t.name]), t.partner ? " " : "", t.partner ? el("span", { className: "badge" }, [t.partner]) : null,
          " ", el("span", { className: "badge state-badge state-" + t.state }, [t.state_label])
        ]),
        el("div", { className: "help" }, [t.skills]),
        el("div", { className: "help" }, [t.load]),
        el("div", { className: "help" }, [t.where])
      ]);
      var row = el("li", { className: "tech-row state-" + t.state, "data-technician": t.id }, [info, track]);
      if (t.jobs.length) {
        var items = t.jobs.map(function (j) {
          return el("li", {}, [
            link(url("candidates", j.id), j.number), " ",
            el("span", { className: "badge status-" + j.status }, [j.status_label]),
            " " + j.when + " · " + j.service + " ",
            j.unassign ? link(url("candidates", j.id), words.reassign) : null, j.unassign ? " " : "",
            j.unassign ? unassignForm(j.id) : null
          ]);
        });
        var details = el("details", { className: "tech-jobs" }, [
          el("summary", {}, [t.jobs_label]), el("ul", {}, items)
        ]);
        details.open = !!open[t.id];
        row.appendChild(details);
      }
      fragment.appendChild(row);
    });
    list.appendChild(fragment);
  }

  // --- map ----------------------------------------------------------------
  var map = null, layer = null;
  var mapEl = document.getElementById("dispatch-map");
  if (mapEl && window.L) {
    map = L.map(mapEl).setView(readJSON("dispatch-center") || [31.23, 121.47], 11);
    var tiles = document.getElementById("dispatch-tiles");
    var tileUrl = tiles ? tiles.getAttribute("data-url") : "";
    // No tile server configured (or none reachable): the markers still show on a blank background.
    if (tileUrl) {
      L.tileLayer(tileUrl, { maxZoom: 19, attribution: tiles.getAttribute("data-attribution") || "" }).addTo(map);
    }
    layer = L.layerGroup().addTo(map);
  }
  var PRIORITY_COLOURS = { 1: "#868e96", 2: "#f08c00", 3: "#e8590c", 4: "#c92a2a" };
  var STATE_COLOURS = { available: "#0b62c4", en_route: "#a15c00", on_site: "#137333", off_shift: "#868e96" };

  var tokenInput = document.querySelector("#unassign-template input[name=csrfmiddlewaretoken]");
  var mapStatus = document.getElementById("map-status");
  function say(text) { if (mapStatus) mapStatus.textContent = text || ""; }

  // An order's pin: drawn from CSS classes (no inline style: the CSP), priority as its colour,
  // a dashed ring when the point is only a district's or city's centre.
  function orderIcon(o) {
    return L.divIcon({
      className: "order-pin prio-pin-" + o.priority + (o.place === "approx" ? " pin-approx" : ""),
      iconSize: [18, 18], iconAnchor: [9, 9]
    });
  }

  // While the dispatcher holds or places a pin, a refresh must not redraw the markers (the pin in
  // the hand would vanish and the drag become a pan): the queue, the list and the Gantt refresh as
  // ever, and the map draws the newest board once the pin is let go (after HOLD_MS at most, should
  // the browser never say the button went up).
  var HOLD_MS = 20000, PLACE_MS = 15000;
  var held = false, placing = false, heldBoard = null, holdTimer = null;
  function release() {
    held = false;
    window.clearTimeout(holdTimer);
    if (placing || !heldBoard) return;
    var board = heldBoard;
    heldBoard = null;
    drawBoardMarkers(board, false);
  }
  function releaseSoon() { if (held) window.setTimeout(release, 0); }
  if (mapEl) {
    mapEl.addEventListener("pointerdown", function (e) {
      if (e.button !== 0 || !(e.target.closest && e.target.closest(".order-pin"))) return;
      held = true;
      window.clearTimeout(holdTimer);
      holdTimer = window.setTimeout(release, HOLD_MS);
    }, true);
    // After Leaflet's own handlers: a drag that ended has set `placing` by then.
    document.addEventListener("pointerup", releaseSoon);
    document.addEventListener("pointercancel", releaseSoon);
    document.addEventListener("contextmenu", releaseSoon);
    window.addEventListener("blur", releaseSoon);
  }

  // The dispatcher drags a pin to where the site really is: confirm, store it (precision "manual"),
  // and reload the board; refused or failed, the pin goes back.
  function placeOrder(o, marker) {
    var to = marker.getLatLng();
    placing = true;
    function done() { placing = false; release(); }
    if (!window.confirm((words.place_confirm || "").replace("%(number)s", o.number))) {
      marker.setLatLng(o.pos);
      done();
      return;
    }
    // A request that hangs gives up after PLACE_MS (the pin goes back, the map refreshes again).
    var abort = window.AbortController ? new AbortController() : null;
    var timer = abort ? window.setTimeout(function () { abort.abort(); }, PLACE_MS) : null;
    fetch(url("place", o.id), {
      method: "POST", credentials: "same-origin", signal: abort ? abort.signal : undefined,
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRFToken": tokenInput ? tokenInput.value : "" },
      body: JSON.stringify({ latitude: to.lat, longitude: to.lng })
    }).then(function (r) {
      window.clearTimeout(timer);
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error(data.detail || String(r.status));
        say(data.detail);
        heldBoard = null;  // older than the pin just placed
        done();
        root.dispatchEvent(new CustomEvent("dispatch:reload"));
      });
    }).catch(function (err) {
      window.clearTimeout(timer);
      marker.setLatLng(o.pos);
      say((words.place_failed || "%(reason)s").replace("%(reason)s", err.message));
      done();
    });
  }

  function drawMarkers(board, fit) {
    if (!map) return;
    layer.clearLayers();
    var points = [];
    board.queue.rows.forEach(function (o) {
      if (!o.pos) return;
      var tip = o.number + " · " + o.service + " · " + o.priority_label + (o.area ? " · " + o.area : "") +
        (o.place === "approx" ? " · " + words.approximate : "");
      var m = L.marker(o.pos, { icon: orderIcon(o), draggable: !!url("place", o.id), keyboard: true, title: o.number })
        .bindTooltip(tip);
      m.on("click", function () { window.location.href = url("candidates", o.id); });
      m.on("dragend", function () { placeOrder(o, m); });
      m.addTo(layer);
      points.push(o.pos);
    });
    board.technicians.forEach(function (t) {
      if (!t.pos) return;
      L.circleMarker(t.pos, {
        radius: 7, color: "#ffffff", weight: 2, fillColor: STATE_COLOURS[t.state] || "#0b62c4", fillOpacity: 1
      }).bindTooltip(t.name + " · " + t.state_label).addTo(layer);
      points.push(t.pos);
    });
    if (fit && points.length) map.fitBounds(points, { padding: [20, 20], maxZoom: 14 });
    return points.length - board.technicians.filter(function (t) { return t.pos; }).length;
  }

  function render(board, first) {
    links = board.links;
    window.dispatchBoard = board;  // for gantt.js, which draws the same data on the Gantt
    document.dispatchEvent(new CustomEvent("dispatch:board", { detail: board }));
    renderQueue(board.queue);
    renderTechnicians(board);
    if (held || placing) { heldBoard = board; return; }
    drawBoardMarkers(board, first);
  }
  // Fitted on the first drawing, and again on the first that has orders on it (a job appears as
  // soon as its address resolves); after that the dispatcher's zoom is left alone.
  function drawBoardMarkers(board, first) {
    if (drawMarkers(board, first || !fitted) > 0) fitted = true;
  }
  var drawn = false, fitted = false;

  // --- refresh --------------------------------------------------------------
  var seconds = parseInt(root.getAttribute("data-refresh"), 10) || 10;
  var version = "";
  // Asked by gantt.js after a drop: fetch the board now (whatever the fingerprint), outside the timer.
  root.addEventListener("dispatch:reload", function () { load(false); });
  function refresh() { load(true); }
  function load(scheduled) {
    if (scheduled && document.hidden) return schedule();
    if (!scheduled) version = "";
    var query = root.getAttribute("data-query");
    var url = root.getAttribute("data-url") + "?" + (query ? query + "&" : "") + "version=" + encodeURIComponent(version);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        version = data.version;
        root.classList.remove("board-stale");
        clock = { now: data.now, now_iso: data.now_iso };
        document.dispatchEvent(new CustomEvent("dispatch:now", { detail: clock }));  // for gantt.js
        if (data.changed) {
          render(data.board, !drawn);
          drawn = true;
        } else {
          moveNow();
        }
      })
      .catch(function () { root.classList.add("board-stale"); })
      .then(function () { if (scheduled) schedule(); });
  }
  function schedule() { window.setTimeout(refresh, seconds * 1000); }
  refresh();  // the first drawing, then every few seconds
})();
