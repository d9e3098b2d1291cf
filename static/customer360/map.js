// The customer page's small map of the customer's sites (Leaflet, served locally as on the dispatch board).
(function () {
  "use strict";
  var el = document.getElementById("c360-map");
  if (!el || !window.L) return;
  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var points = readJSON("c360-points") || [];
  var words = readJSON("c360-map-words") || {};
  // The zoom buttons and the attribution in the page's language (Leaflet's own are English).
  var map = L.map(el, { zoomControl: false }).setView(readJSON("c360-center") || [31.23, 121.47], 11);
  L.control.zoom({ zoomInTitle: words.zoom_in || "+", zoomOutTitle: words.zoom_out || "-" }).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  var tiles = document.getElementById("c360-tiles");
  var tileUrl = tiles ? tiles.getAttribute("data-url") : "";
  // No tile server configured: the sites still show on a blank background.
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19, attribution: tiles.getAttribute("data-attribution") || "" }).addTo(map);
  }
  var latlngs = [];
  points.forEach(function (p) {
    L.circleMarker([p.lat, p.lon], { radius: 8, color: "#0b62c4", weight: 2, fillOpacity: 0.6 })
      .bindTooltip(p.label).addTo(map);
    latlngs.push([p.lat, p.lon]);
  });
  if (latlngs.length) map.fitBounds(latlngs, { padding: [24, 24], maxZoom: 15 });
  el.setAttribute("data-points", String(latlngs.length));
})();
