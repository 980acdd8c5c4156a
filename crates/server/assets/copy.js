// Copy buttons: a button with data-copy="<input id>" copies that input's value. Without script the button
// stays hidden and the value is selectable text in a read-only field.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var field = document.getElementById(button.dataset.copy);
  var said = document.querySelector('[data-copied="' + button.dataset.copy + '"]');
  if (!field || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(field.value).then(
      function () { if (said) said.textContent = "Copied."; },
      function () { field.select(); if (said) said.textContent = "Select the link and copy it."; }
    );
  });
});
