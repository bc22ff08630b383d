// "Go back" on the error page: the browser's own Back, shown only where there is a page to go back to.
(function () {
  "use strict";

  var link = document.querySelector("a[data-back]");
  if (!link || window.history.length < 2) return;
  link.hidden = false;
  link.addEventListener("click", function (event) {
    event.preventDefault();
    window.history.back();
  });
})();
