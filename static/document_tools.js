// The member's document tools, enhanced: the table of contents opens by itself on a wide screen (on a phone it
// stays folded above the text), and the print view gets a Print button. Without this script both still work.
(function () {
  "use strict";

  if (window.matchMedia && window.matchMedia("(min-width: 64rem)").matches) {
    document.querySelectorAll("details[data-open-wide]").forEach(function (details) { details.open = true; });
  }
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
