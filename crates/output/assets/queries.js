// The query tree view: filter by query or argument text, expand or collapse everything.
(function () {
  "use strict";
  var nodes = Array.prototype.slice.call(document.querySelectorAll("details.node"));
  var filter = document.getElementById("filter");
  var count = document.getElementById("match-count");

  function setOpen(open) {
    nodes.forEach(function (node) { node.open = open; });
  }
  document.getElementById("expand").addEventListener("click", function () { setOpen(true); });
  document.getElementById("collapse").addEventListener("click", function () { setOpen(false); });

  // A node stays visible when it or one of its descendants matches.
  filter.addEventListener("input", function () {
    var text = filter.value.trim().toLowerCase();
    var matches = 0;
    nodes.forEach(function (node) { node.classList.toggle("hidden", text !== ""); });
    if (text === "") { count.textContent = ""; return; }
    nodes.forEach(function (node) {
      var label = node.querySelector(":scope > summary").textContent.toLowerCase();
      if (label.indexOf(text) === -1) { return; }
      matches += 1;
      var at = node;
      while (at) {
        at.classList.remove("hidden");
        at.open = true;
        at = at.parentElement ? at.parentElement.closest("details.node") : null;
      }
    });
    count.textContent = matches + " matching";
  });

  // A link can carry a filter: queries.html#filter=typeck
  var hash = decodeURIComponent(window.location.hash || "");
  if (hash.indexOf("#filter=") === 0) {
    filter.value = hash.slice("#filter=".length);
    filter.dispatchEvent(new Event("input"));
  }
  document.body.setAttribute("data-ready", String(nodes.length));
})();
