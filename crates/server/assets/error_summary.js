// A form's error summary (templates/macros.html `error_summary`) is at the top of the page: move focus to it,
// so that screen readers read it and keyboard users start from it. `autofocus` does the same without script
// where the browser honours it.
(function () {
  var summary = document.getElementById("error-summary");
  if (summary && document.activeElement !== summary) summary.focus();
})();
