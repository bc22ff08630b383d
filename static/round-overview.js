// The round page's list of everyone, filtered in place: the filter links (?toon=...) work without this script by
// loading the page again; with it, a click hides the other rows at once, marks the link as current, says what is
// shown in the live region, and puts the filter in the address so that a reload or a shared link shows the same.
// Only when the page holds every row (data-complete): a page the server filtered loads the other filters anew.
(function () {
  "use strict";

  var nav = document.querySelector("nav.filters[data-filter-table]");
  if (!nav) return;
  var table = document.getElementById(nav.getAttribute("data-filter-table"));
  if (!table || table.getAttribute("data-complete") !== "true") return;
  var links = Array.prototype.slice.call(nav.querySelectorAll("a[data-filter]"));
  var rows = Array.prototype.slice.call(table.tBodies[0].rows).filter(function (row) {
    return row.hasAttribute("data-filters");
  });
  var shown = document.getElementById("everyone-shown");
  var prefix = shown ? shown.getAttribute("data-prefix") : "";

  function show(link) {
    var filter = link.getAttribute("data-filter");
    rows.forEach(function (row) {
      row.hidden = (" " + row.getAttribute("data-filters") + " ").indexOf(" " + filter + " ") < 0;
    });
    links.forEach(function (other) {
      if (other === link) other.setAttribute("aria-current", "page");
      else other.removeAttribute("aria-current");
    });
    if (shown) shown.textContent = prefix + " " + link.textContent.trim();
  }

  nav.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-filter]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    show(link);
    if (window.history && window.history.replaceState) window.history.replaceState(null, "", link.href);
  });
})();
