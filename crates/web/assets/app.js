// Ticks the clocks (time left on handoff offers and holds) once a minute. The page is
// complete without it: every time is rendered on the server.
(function () {
  function fmt(secs) {
    var sign = secs < 0 ? "overdue by " : "";
    var s = Math.abs(secs), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    if (h >= 48) return sign + Math.floor(h / 24) + "d " + (h % 24) + "h";
    return sign + h + "h " + (m < 10 ? "0" : "") + m + "m";
  }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll(".timer[data-deadline]").forEach(function (el) {
      el.textContent = fmt(Number(el.getAttribute("data-deadline")) - now);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 60000); });
})();

// The planner's sliders show their value as they move. Without script the value shows after
// the plan runs (the server renders it).
document.addEventListener("input", function (e) {
  var t = e.target, id = t && t.getAttribute && t.getAttribute("data-output");
  var out = id && document.getElementById(id);
  if (out) out.textContent = Math.round(Number(t.value));
});
