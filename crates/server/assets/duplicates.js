// Live duplicate suggestions on the report form: as the person types, asks the clearinghouse which stored
// reports (that they may read) the report would repeat, and lists them. Nothing is filed by asking. Without
// this script the form works in two steps (the server shows the possible duplicates before filing).
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var region = document.getElementById("live-duplicates");
  if (!form || !region || !window.fetch) {
    return;
  }
  var list = document.getElementById("live-duplicates-list");
  var endpoint = form.getAttribute("data-candidates");
  var timer = null;
  var asked = 0;

  function value(name) {
    var field = form.elements.namedItem(name);
    return field && typeof field.value === "string" ? field.value.trim() : "";
  }

  function body() {
    var report = {
      kind: "vulnerability",
      title: value("title"),
      description: value("description"),
      tlp: value("tlp"),
      ai_found: !!(form.elements.namedItem("ai_found") || {}).checked
    };
    var product = value("product");
    var versions = value("versions");
    if (product || versions) {
      var entry = { versions: versions };
      if (product.toLowerCase().indexOf("cpe:") === 0) {
        entry.cpe = product;
      } else {
        entry.purl = product;
      }
      report.affected = [entry];
    }
    ["cwe", "cvss_v3", "cvss_v4"].forEach(function (name) {
      if (value(name)) {
        report[name] = value(name);
      }
    });
    return report;
  }

  function show(duplicates) {
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    duplicates.forEach(function (d) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "/reports/" + d.report_id;
      link.textContent = d.title;
      var note = document.createElement("span");
      note.className = "muted";
      var text = " (similarity " + Math.round(d.score * 100) + "%";
      if (d.case_reference) {
        text += ", case " + d.case_reference;
      }
      note.textContent = text + ")";
      item.appendChild(link);
      item.appendChild(note);
      list.appendChild(item);
    });
    region.hidden = duplicates.length === 0;
  }

  function ask() {
    var report = body();
    if (!report.title || !report.description) {
      show([]);
      return;
    }
    var mine = ++asked;
    fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRF-Token": value("csrf")
      },
      body: JSON.stringify(report)
    })
      .then(function (response) {
        return response.ok ? response.json() : { duplicates: [] };
      })
      .then(function (answer) {
        if (mine === asked) {
          show(answer.duplicates || []);
        }
      })
      .catch(function () {});
  }

  function later() {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(ask, 400);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
