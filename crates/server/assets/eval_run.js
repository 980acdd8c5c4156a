// Live progress on a run's page: while the run is queued or running, asks the API for it every second and
// updates its state, progress and accuracy in place. When the run ends it says so, with a link to the page's
// results. Without this script the page refreshes itself every few seconds and has a reload link.
(function () {
  "use strict";
  var section = document.getElementById("run-live");
  if (!section || !window.fetch || section.getAttribute("data-active") !== "true") {
    return;
  }
  var endpoint = section.getAttribute("data-run");

  function set(id, text) {
    var element = document.getElementById(id);
    if (element) {
      element.textContent = text;
    }
  }

  function percent(v) {
    return (v * 100).toFixed(1) + "%";
  }

  function show(run) {
    set("run-state", run.state);
    set("run-progress", run.done + " of " + run.total);
    set("run-errors", String(run.errors));
    if (run.accuracy) {
      set("run-accuracy", percent(run.accuracy.value) + " (95% CI " + percent(run.accuracy.low) + " to " +
        percent(run.accuracy.high) + ")");
    }
    var bar = document.getElementById("run-bar");
    if (bar) {
      bar.max = run.total;
      bar.value = run.done;
    }
  }

  function ended() {
    var reload = document.getElementById("run-reload");
    if (reload) {
      reload.hidden = true;
    }
    var cancel = document.getElementById("cancel-form");
    if (cancel) {
      cancel.hidden = true;
    }
    var note = document.getElementById("run-ended");
    if (note) {
      note.hidden = false;
    }
  }

  function poll() {
    fetch(endpoint, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status >= 400 && response.status < 500) {
          // Signed out, or the run is no longer there for this person: the reload link stays.
          return null;
        }
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (run) {
        if (!run) {
          return;
        }
        show(run);
        if (run.state === "queued" || run.state === "running") {
          window.setTimeout(poll, 1000);
        } else {
          ended();
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 500);
})();
