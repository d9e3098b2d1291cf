// Charts for the reports dashboard (chart.js, served from our own static files).
// The figures come from the JSON the page embeds; the same numbers are in the tables beside each chart.
(function () {
  "use strict";
  var node = document.getElementById("report-data");
  if (!node || typeof window.Chart === "undefined") return;
  var data = JSON.parse(node.textContent);
  var palette = {
    "new": "#f0a202", assigned: "#4e79a7", accepted: "#76b7b2", en_route: "#59a14f", in_progress: "#2e7d32",
    on_hold: "#e15759", resolved: "#9c755f", follow_up: "#b07aa1", closed: "#8e9aa6", cancelled: "#cfd6dd"
  };
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  Chart.defaults.animation = reduceMotion ? false : Chart.defaults.animation;
  Chart.defaults.maintainAspectRatio = false;

  function stacked(id, trend) {
    var el = document.getElementById(id);
    if (!el) return;
    new Chart(el, {
      type: "bar",
      data: {
        labels: trend.labels,
        datasets: data.statuses.map(function (s) {
          return { label: s.label, data: trend.series[s.code], backgroundColor: palette[s.code] };
        })
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  stacked("chart-daily", data.daily);
  stacked("chart-weekly", data.weekly);

  var times = document.getElementById("chart-times");
  if (times) {
    new Chart(times, {
      type: "bar",
      data: {
        labels: data.times.labels,
        datasets: [
          { label: data.text.business_avg, data: data.times.business_avg, backgroundColor: "#4e79a7" },
          { label: data.text.business_p90, data: data.times.business_p90, backgroundColor: "#a0cbe8" },
          { label: data.text.clock_avg, data: data.times.clock_avg, backgroundColor: "#f28e2b" },
          { label: data.text.clock_p90, data: data.times.clock_p90, backgroundColor: "#ffbe7d" }
        ]
      },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: data.text.hours } } } }
    });
  }

  var sla = document.getElementById("chart-sla");
  if (sla) {
    new Chart(sla, {
      type: "bar",
      data: {
        labels: data.sla.labels,
        datasets: [
          { label: data.text.met, data: data.sla.met, backgroundColor: "#59a14f" },
          { label: data.text.missed, data: data.sla.missed, backgroundColor: "#e15759" }
        ]
      },
      options: { indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true } } }
    });
  }

  var backlog = document.getElementById("chart-backlog");
  if (backlog) {
    new Chart(backlog, {
      type: "bar",
      data: { labels: data.backlog.labels,
              datasets: [{ label: data.text.open, data: data.backlog.counts, backgroundColor: "#f0a202" }] },
      options: { plugins: { legend: { display: false } },
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
})();
