// netpol diff -o html: the change filter (netpol/render/report.py embeds this file).
(function () {
  "use strict";
  var filter = document.getElementById("f-kind");
  filter.addEventListener("input", function () {
    document.querySelectorAll("tr.change").forEach(function (tr) {
      tr.hidden = filter.value !== "" && tr.dataset.kind !== filter.value;
    });
  });
})();
