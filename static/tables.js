// Tables of records (table.list) stack into one card per row on a narrow screen (app.css): each cell gets its
// column's header as data-label, which the style sheet shows before the cell's content. A template may write the
// labels itself (and the class "stacks"); then this only adds the roles. Without this script a table scrolls
// sideways inside its .table-wrap, as before.
(function () {
  "use strict";

  // The header text of each column of the table's last header row, spread over colspans.
  function columnLabels(table) {
    var head = table.tHead && table.tHead.rows.length ? table.tHead.rows[table.tHead.rows.length - 1] : null;
    if (!head) return null;
    var labels = [];
    Array.prototype.forEach.call(head.cells, function (cell) {
      for (var i = 0; i < (cell.colSpan || 1); i++) labels.push(cell.textContent.replace(/\s+/g, " ").trim());
    });
    return labels;
  }

  // display: block takes a table's semantics away in some browsers: the roles keep it a table for screen readers.
  function keepRoles(table) {
    table.setAttribute("role", "table");
    Array.prototype.forEach.call(table.querySelectorAll(":scope > thead, :scope > tbody, :scope > tfoot"),
      function (group) { group.setAttribute("role", "rowgroup"); });
    Array.prototype.forEach.call(table.rows, function (row) {
      row.setAttribute("role", "row");
      Array.prototype.forEach.call(row.cells, function (cell) {
        var scope = cell.getAttribute("scope");
        if (cell.tagName === "TH") cell.setAttribute("role", scope === "row" ? "rowheader" : "columnheader");
        else cell.setAttribute("role", "cell");
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.list"), function (table) {
    var labels = columnLabels(table);
    if (!labels) return;
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (!cell.textContent.trim() && !cell.querySelector("input, button, select, textarea, img, progress")) {
            cell.classList.add("blank");  // nothing to show: no label on a card either
          } else if (!cell.hasAttribute("data-label") && cell.colSpan === 1 && labels[column]) {
            cell.setAttribute("data-label", labels[column]);
          }
          column += cell.colSpan || 1;
        });
      });
    });
    keepRoles(table);
    table.classList.add("stacks");
  });
})();
