// Live updates for the lcwnotify status page: the server sends the page's changing
// parts, rendered and escaped as the page itself, when they change. Without this
// script the page works the same, refreshed by hand.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var state = document.getElementById("live-state");
  var dot = document.getElementById("live-dot");
  if (!live || !window.EventSource) { return; }
  var source = new EventSource("/live" + window.location.search);
  source.addEventListener("update", function (e) {
    var t = document.createElement("template");
    t.innerHTML = e.data;
    // Keep the user's place: a form being filled in is left alone.
    var active = document.activeElement;
    if (active && live.contains(active) && active.form && active.type !== "submit") { return; }
    live.replaceChildren(t.content);
    dot.className = "dot on";
    var generated = live.querySelector("[data-generated]");
    state.textContent = "Live · updated " + (generated ? generated.textContent : "");
  });
  source.onopen = function () { dot.className = "dot on"; };
  source.onerror = function () {
    dot.className = "dot off";
    state.textContent = "Reconnecting…";
  };
})();
