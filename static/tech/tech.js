/* Technician pages, no framework: position on status taps, photo resizing, signature canvas,
   charges, and a draft of the completion form kept in localStorage. */
(function () {
  "use strict";
  var geo = navigator.geolocation;

  function position(done) {
    if (!geo) { done(null); return; }
    var finished = false;
    function once(p) { if (!finished) { finished = true; done(p); } }
    geo.getCurrentPosition(function (p) { once(p.coords); }, function () { once(null); },
      { enableHighAccuracy: true, timeout: 6000, maximumAge: 60000 });
    setTimeout(function () { once(null); }, 7000);
  }

  // A tap on a status button (or the final submit) records where the phone is, when it may.
  document.querySelectorAll("form.geo").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sending) { event.preventDefault(); return; }
      if (form.dataset.busy) { event.preventDefault(); return; }
      event.preventDefault();
      form.dataset.sending = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      position(function (c) {
        if (c) {
          form.elements.latitude.value = c.latitude.toFixed(6);
          form.elements.longitude.value = c.longitude.toFixed(6);
        }
        form.submit();
      });
    });
  });

  // While a job is en route or on site, and the technician agreed: send the phone's position
  // (at most once a minute); the server refuses it once the job is no longer under way.
  var live = document.getElementById("live-position");
  if (live && geo) {
    var lastSent = 0, watch = null;
    watch = geo.watchPosition(function (p) {
      if (Date.now() - lastSent < 60000) return;
      lastSent = Date.now();
      fetch(live.dataset.url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": live.dataset.csrf },
        body: JSON.stringify({ latitude: p.coords.latitude, longitude: p.coords.longitude })
      }).then(function (r) {
        if (r.status === 403 || r.status === 404 || r.status === 409) { geo.clearWatch(watch); }
      }).catch(function () {});
    }, function () {}, { enableHighAccuracy: true, maximumAge: 30000 });
  }

  // Coming back with the browser's back button: the buttons work again.
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) return;
    document.querySelectorAll("form.geo").forEach(function (f) {
      delete f.dataset.sending;
      f.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });

  // A completed job's page clears the draft of its completion form.
  document.querySelectorAll("[data-clear-draft]").forEach(function (el) {
    try { localStorage.removeItem("draft:" + el.dataset.clearDraft); } catch (e) { /* private mode */ }
  });

  var form = document.getElementById("complete");
  if (!form) return;

  // Parts: more lines on demand.
  var parts = form.querySelector(".parts");
  function addPartRow() {
    var row = parts.lastElementChild.cloneNode(true);
    row.querySelectorAll("input").forEach(function (i) { i.value = ""; });
    parts.appendChild(row);
    return row;
  }
  form.querySelector(".add-part").addEventListener("click", addPartRow);

  // Charges: call-out fee + labour at the hourly rate + parts, as the server computes them.
  var box = form.querySelector(".charges");
  var prices = {};
  document.querySelectorAll("#catalog option").forEach(function (o) { prices[o.value] = parseFloat(o.dataset.price); });
  function money(n) { return "¥" + (Math.round(n * 100) / 100).toFixed(2); }
  function charges() {
    var callout = parseFloat(box.dataset.callout) || 0, rate = parseFloat(box.dataset.rate) || 0;
    var minutes = parseInt(form.elements.labour_minutes.value, 10) || 0;
    var labour = Math.round(rate * minutes / 60 * 100) / 100, sum = 0;
    parts.querySelectorAll(".part-row").forEach(function (row) {
      var number = (row.children[0].value || "").trim().split(/\s+/)[0];
      var qty = parseFloat(row.children[1].value);
      if (prices[number] !== undefined && qty > 0) sum += Math.round(prices[number] * qty * 100) / 100;
    });
    box.querySelector("[data-out=labour]").textContent = money(labour);
    box.querySelector("[data-out=parts]").textContent = money(sum);
    // Less the share a contract or the warranty covers (completion_charges).
    var subtotal = callout + labour + sum, percent = parseInt(box.dataset.covered, 10) || 0;
    var covered = Math.round(subtotal * percent) / 100, coveredOut = box.querySelector("[data-out=covered]");
    if (coveredOut) coveredOut.textContent = "-" + money(covered);
    box.querySelector("[data-out=total]").textContent = money(subtotal - covered);
  }

  // Signature: draw with a finger; the drawing goes in a hidden field as a PNG data URL.
  var canvas = form.querySelector("canvas.sign"), field = form.elements.signature;
  var ctx = canvas.getContext("2d"), drawing = false, last = null;
  function fit() {
    var ratio = window.devicePixelRatio || 1, rect = canvas.getBoundingClientRect();
    canvas.width = Math.round(rect.width * ratio); canvas.height = Math.round(rect.height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
    if (field.value) {
      var img = new Image();
      img.onload = function () { ctx.drawImage(img, 0, 0, rect.width, rect.height); };
      img.src = field.value;
    }
  }
  function point(e) { var r = canvas.getBoundingClientRect(); return { x: e.clientX - r.left, y: e.clientY - r.top }; }
  canvas.addEventListener("pointerdown", function (e) {
    drawing = true; last = point(e); canvas.setPointerCapture(e.pointerId);
    ctx.beginPath(); ctx.arc(last.x, last.y, 1, 0, 7); ctx.fill();
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!drawing) return;
    var p = point(e);
    ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke(); last = p;
  });
  function end() { if (drawing) { drawing = false; field.value = canvas.toDataURL("image/png"); save(); } }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  form.querySelector(".sign-clear").addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height); field.value = ""; save();
  });

  // Photos: resized on the phone before upload (a slow network sends far fewer bytes);
  // the position and time are kept alongside, since the resized copy has no EXIF.
  var photos = form.elements.photos, meta = form.elements.photo_meta, status = form.querySelector(".photo-status");
  function shrink(file, max) {
    return new Promise(function (resolve) {
      var url = URL.createObjectURL(file), img = new Image();
      img.onload = function () {
        var scale = Math.min(1, max / Math.max(img.naturalWidth, img.naturalHeight));
        var c = document.createElement("canvas");
        c.width = Math.round(img.naturalWidth * scale); c.height = Math.round(img.naturalHeight * scale);
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(url);
        c.toBlob(function (blob) {
          resolve(blob && blob.size < file.size ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg",
            { type: "image/jpeg", lastModified: file.lastModified }) : file);
        }, "image/jpeg", 0.82);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      img.src = url;
    });
  }
  photos.addEventListener("change", function () {
    var files = Array.prototype.slice.call(photos.files);
    if (!files.length || !window.DataTransfer || !window.Promise) return;
    form.dataset.busy = "1"; status.textContent = form.dataset.preparing;
    position(function (c) {
      Promise.all(files.map(function (f) { return shrink(f, parseInt(photos.dataset.resize, 10) || 1600); }))
        .then(function (small) {
          var dt = new DataTransfer(), total = 0;
          small.forEach(function (f) { dt.items.add(f); total += f.size; });
          photos.files = dt.files;
          meta.value = JSON.stringify(files.map(function (f) {
            return { lat: c ? c.latitude : null, lng: c ? c.longitude : null, time: f.lastModified };
          }));
          status.textContent = small.length + " × " + Math.round(total / 1024) + " KB";
          delete form.dataset.busy;
        });
    });
  });

  // Draft: everything typed is kept in this browser until the job's page shows the report.
  var key = "draft:" + form.dataset.draft, skip = { csrfmiddlewaretoken: 1, submission_key: 1, latitude: 1, longitude: 1, photo_meta: 1, photos: 1 };
  function save() {
    var data = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || skip[el.name] || el.type === "file") return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      data.push([el.name, el.value]);
    });
    try { localStorage.setItem(key, JSON.stringify({ at: Date.now(), data: data })); } catch (e) { /* full or private */ }
  }
  function restore() {
    var saved;
    try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    if (!saved || !saved.data || form.dataset.bound) return false;
    var counts = {};
    saved.data.forEach(function (pair) { counts[pair[0]] = (counts[pair[0]] || 0) + 1; });
    while (parts.querySelectorAll(".part-row").length < (counts.part || 0)) addPartRow();
    var seen = {};
    saved.data.forEach(function (pair) {
      var name = pair[0], value = pair[1], list = form.querySelectorAll("[name='" + name + "']");
      if (!list.length) return;
      if (list[0].type === "radio" || list[0].type === "checkbox") {
        list.forEach(function (el) { if (el.value === value) el.checked = true; });
      } else {
        var i = seen[name] || 0; seen[name] = i + 1;
        if (list[i]) list[i].value = value;
      }
    });
    return true;
  }
  if (restore()) {
    var note = form.querySelector(".draft-note");
    note.textContent = form.dataset.restored + " ";
    var discard = document.createElement("button");
    discard.type = "button"; discard.className = "link"; discard.textContent = form.dataset.discard;
    discard.addEventListener("click", function () { localStorage.removeItem(key); location.reload(); });
    note.appendChild(discard); note.hidden = false;
  }
  form.addEventListener("input", function () { charges(); save(); });
  form.addEventListener("change", function () { charges(); save(); });
  fit(); charges();
})();
