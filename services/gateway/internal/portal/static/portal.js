// Live progress of an environment: follows the portal's relay of
// GET /v1/environments/{id}/events and reloads the page once the
// environment has settled, so resources and outputs appear. No inline
// script anywhere: the Content-Security-Policy allows only these files.
(function () {
  "use strict";
  function start() {
    var live = document.getElementById("live");
    if (!live || !window.EventSource) { return; }
    var log = document.getElementById("live-log");
    var status = document.getElementById("live-status");
    var state = document.getElementById("env-state");
    function line(text) {
      var li = document.createElement("li");
      li.textContent = text;
      log.appendChild(li);
    }
    function setState(s) {
      if (!state || !s) { return; }
      state.textContent = s;
      state.className = "state state-" + s;
    }
    var es = new EventSource(live.getAttribute("data-events"));
    es.addEventListener("snapshot", function (e) {
      var env = JSON.parse(e.data);
      setState(env.state);
      status.textContent = "State " + env.state + (env.operation ? ": " + env.operation.kind + " running" : "");
    });
    es.addEventListener("transitioned", function (e) {
      var t = JSON.parse(e.data);
      setState(t.to);
      line((t.from ? t.from + " → " : "") + t.to + (t.reason ? " (" + t.reason + ")" : ""));
      status.textContent = "State " + t.to;
    });
    es.addEventListener("progressed", function (e) {
      var p = JSON.parse(e.data);
      line((p.step ? "step " + p.step + ": " : "") + p.input.replace(/_/g, " ") + " · " + p.status +
        (p.reason ? " (" + p.reason + ")" : ""));
    });
    es.addEventListener("end", function (e) {
      es.close();
      var s = JSON.parse(e.data).state;
      setState(s);
      status.textContent = "Settled: " + s + ".";
      line("settled: " + s);
      // Refresh the details (resources, outputs, actions) in place, so
      // the progress above stays readable.
      if (window.htmx) {
        window.htmx.ajax("GET", window.location.pathname, {target: "#env-body", select: "#env-body", swap: "outerHTML"});
      } else {
        window.location.reload();
      }
    });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) {
        status.textContent = "The progress stream closed; reload the page to see the state.";
      }
    };
  }
  // The home page's environment states: each changing one follows its
  // event stream (at most 4 at once: a browser keeps 6 connections to a
  // host, and the page needs the rest).
  function startStates() {
    var cells = document.querySelectorAll("[data-live-env]");
    var max = Math.min(cells.length, 4);
    for (var i = 0; i < max; i++) {
      follow(cells[i]);
    }
  }
  function follow(cell) {
    if (!window.EventSource) { return; }
    function setState(s) {
      if (!s) { return; }
      cell.textContent = s;
      cell.className = "state state-" + s;
    }
    var es = new EventSource(cell.getAttribute("data-live-env"));
    es.addEventListener("snapshot", function (e) { setState(JSON.parse(e.data).state); });
    es.addEventListener("transitioned", function (e) { setState(JSON.parse(e.data).to); });
    es.addEventListener("end", function (e) {
      es.close();
      setState(JSON.parse(e.data).state);
      cell.removeAttribute("data-live-env");
    });
  }
  function boot() {
    start();
    startStates();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
