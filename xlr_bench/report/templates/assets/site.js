// xlr-bench leaderboard: sorting, filtering and the language view switch. Bundled, no dependencies,
// no network; the pages stay readable without it (the table is complete in the HTML).
(function () {
  "use strict";

  function sortKey(row, column) {
    var cell = row.querySelector('[data-col="' + column + '"]');
    var raw = cell ? cell.getAttribute("data-value") : "";
    return raw === null ? "" : raw;
  }

  function sortBy(table, header) {
    var column = header.getAttribute("data-col");
    var numeric = header.getAttribute("data-type") !== "text";
    var current = header.getAttribute("aria-sort");
    // First click: best first (descending, or ascending where lower is better, or A-Z for text).
    var first = (!numeric || header.hasAttribute("data-lower-better")) ? "ascending" : "descending";
    var direction = current ? (current === "ascending" ? "descending" : "ascending") : first;
    var sign = direction === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, index) {
      return { row: row, key: sortKey(row, column), index: index };
    });
    rows.sort(function (a, b) {
      if (a.key === "" || b.key === "") {  // missing values last, whatever the direction
        return (a.key === "") - (b.key === "") || a.index - b.index;
      }
      var order = numeric ? Number(a.key) - Number(b.key) : a.key.localeCompare(b.key);
      return sign * order || a.index - b.index;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    table.querySelectorAll("th[aria-sort]").forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", direction);
  }

  function setUpSorting(table) {
    table.querySelectorAll("thead th[data-col]").forEach(function (header) {
      var button = header.querySelector("button");
      (button || header).addEventListener("click", function () { sortBy(table, header); });
    });
  }

  function setUpFilter() {
    var family = document.getElementById("family");
    var search = document.getElementById("search");
    var count = document.getElementById("shown-count");
    var table = document.getElementById("leaderboard-table");
    if (!family || !search || !table) { return; }
    function apply() {
      var wanted = family.value;
      var words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var rows = table.tBodies[0].rows;
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var row = rows[i];
        var text = row.getAttribute("data-search");
        var visible = (!wanted || row.getAttribute("data-family") === wanted) &&
          words.every(function (word) { return text.indexOf(word) >= 0; });
        row.hidden = !visible;
        shown += visible ? 1 : 0;
      }
      count.textContent = shown + " of " + rows.length + " runs shown";
    }
    family.addEventListener("change", apply);
    search.addEventListener("input", apply);
    apply();
  }

  function setUpLanguages() {
    var select = document.getElementById("lang-task");
    if (!select) { return; }
    function show() {
      document.querySelectorAll(".lang-view").forEach(function (view) {
        view.hidden = view.getAttribute("data-task") !== select.value;
      });
    }
    select.addEventListener("change", show);
    show();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(setUpSorting);
    setUpFilter();
    setUpLanguages();
  });
}());
