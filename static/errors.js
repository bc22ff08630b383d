// The error summary of a form that failed: focused when the page opens, so a screen reader reads it first and a
// keyboard starts from it; each of its links moves focus to its field (opening a folded section around it) with the
// field's label or legend in view, the way GOV.UK and NL Design System summaries do.
(function () {
  "use strict";

  var summary = document.querySelector("[data-error-summary]");
  if (!summary) return;
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) return;
    var field = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!field) return;
    event.preventDefault();
    for (var folded = field.closest("details:not([open])"); folded; folded = folded.closest("details:not([open])")) {
      folded.open = true;
    }
    var group = field.closest("fieldset");
    var caption = (group && group.querySelector("legend")) || document.querySelector("label[for='" + field.id + "']");
    field.focus({preventScroll: true});
    (caption || field).scrollIntoView({block: "start"});
  });
})();
