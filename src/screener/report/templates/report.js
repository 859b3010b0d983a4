
(function () {
  "use strict";
  function key(cell) {
    var text = (cell.getAttribute("data-sort") || cell.textContent).trim();
    var n = Number(text.replace(/,/g, ""));
    return text !== "" && !isNaN(n) ? [0, n, ""] : [1, 0, text.toLowerCase()];
  }
  function compare(a, b) {
    if (a[0] !== b[0]) { return a[0] - b[0]; }
    if (a[1] !== b[1]) { return a[1] - b[1]; }
    return a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0;
  }
  document.querySelectorAll("table[data-sortable]").forEach(function (table, index) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var label = document.createElement("label");
    label.className = "filter";
    label.textContent = "Search this table: ";
    var input = document.createElement("input");
    input.type = "search";
    input.id = "filter-" + index;
    label.appendChild(input);
    table.parentNode.insertBefore(label, table);
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      rows.forEach(function (row) {
        var text = row.textContent.toLowerCase();
        row.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        rows.sort(function (a, b) {
          var order = compare(key(a.cells[column]), key(b.cells[column]));
          return up ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  function openTarget() {
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    while (target) {
      if (target.tagName === "DETAILS") { target.open = true; }
      target = target.parentElement;
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  window.addEventListener("beforeprint", function () {
    // Every list but the raw record ids, which would fill twenty pages.
    document.querySelectorAll("details").forEach(function (d) {
      if (!d.closest("#records")) { d.open = true; }
    });
  });
})();
