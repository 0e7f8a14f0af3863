// netpol report: the graph's side panel and the matrix (netpol/render/report.py embeds this file).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("netpol-data").textContent);
  var panel = document.getElementById("panel");
  function show(title, body) {
    panel.textContent = "";
    var h = document.createElement("h3"); h.textContent = title; panel.appendChild(h);
    var p = document.createElement("div"); p.className = "panel-body"; p.textContent = body; panel.appendChild(p);
  }
  // graph: a click on a node shows its pods, isolation and connections
  var groups = data.groups || {};
  document.querySelectorAll("#graph g.node").forEach(function (node) {
    var title = node.querySelector("title");
    if (!title) { return; }
    var id = decodeURIComponent(title.textContent);
    node.addEventListener("click", function () {
      var g = groups[id];
      if (!g) { show(id, "outside the drawn groups"); return; }
      var lines = ["pods: " + g.pods.join(", ")];
      var pod = data.pods.find(function (p) { return p.key === g.pods[0]; });
      if (pod) {
        var info = data.classes[pod.cls];
        lines.push("labels: " + (Object.keys(pod.labels).map(function (k) { return k + "=" + pod.labels[k]; }).join(", ") || "none"));
        lines.push("ingress: " + (info.ingress.length ? "isolated by " + info.ingress.join(", ") : "not isolated by a NetworkPolicy"));
        lines.push("egress: " + (info.egress.length ? "isolated by " + info.egress.join(", ") : "not isolated by a NetworkPolicy"));
        if (info.tiered.length) { lines.push("Admin/Baseline policies select it for: " + info.tiered.join(", ")); }
      }
      lines.push("", "who can reach it:");
      g["in"].forEach(function (e) { lines.push("  " + e.peer + " on " + e.ports + (e.why ? "\n    " + e.why.replace(/\n/g, "\n    ") : "")); });
      if (!g["in"].length) { lines.push("  nobody"); }
      lines.push("", "whom it reaches:");
      g.out.forEach(function (e) { lines.push("  " + e.peer + " on " + e.ports + (e.why ? "\n    " + e.why.replace(/\n/g, "\n    ") : "")); });
      if (!g.out.length) { lines.push("  nobody"); }
      show(g.title, lines.join("\n"));
    });
  });
  // matrix: filters by namespace, text and port interval; rows drawn on demand
  var nsSelect = document.getElementById("f-ns"), text = document.getElementById("f-text"),
      portSelect = document.getElementById("f-port"), table = document.getElementById("matrix-table"),
      more = document.getElementById("f-more"), note = document.getElementById("matrix-note");
  if (!table) { return; }
  var shown = 50;
  var namespaces = Array.from(new Set(data.pods.map(function (p) { return p.ns; }))).sort();
  namespaces.forEach(function (ns) { var o = document.createElement("option"); o.value = ns; o.textContent = ns; nsSelect.appendChild(o); });
  if (data.within_namespaces) { nsSelect.removeChild(nsSelect.options[0]); }
  data.intervals.forEach(function (iv) { var o = document.createElement("option"); o.value = iv; o.textContent = iv; portSelect.appendChild(o); });
  function parse(iv) { var m = /^(\w+):(\d+)(?:-(\d+))?$/.exec(iv); return [m[1], +m[2], +(m[3] || m[2])]; }
  function covers(ports, iv) {  // does a port set string ("TCP:80,443 UDP:53", "all") hold the interval?
    if (ports === "all") { return true; }
    if (ports === "none" || ports === "self") { return ports === "self"; }
    var want = parse(iv);
    return ports.split(" ").some(function (part) {
      var k = part.indexOf(":"); if (part.slice(0, k) !== want[0]) { return false; }
      var rest = part.slice(k + 1);
      if (rest === "all") { return true; }
      return rest.split(",").some(function (r) { var b = r.split("-"); var lo = +b[0], hi = +(b[1] || b[0]); return lo <= want[1] && want[2] <= hi; });
    });
  }
  function cell(s, d) { return data.cells[s.cls + "," + d.cls]; }
  function draw() {
    var ns = nsSelect.value, q = text.value.toLowerCase(), iv = portSelect.value;
    var cols = data.pods.filter(function (p) { return !ns || p.ns === ns; });
    var rows = cols.filter(function (p) { return !q || p.key.toLowerCase().indexOf(q) >= 0; });
    table.textContent = "";
    var head = table.insertRow(); var corner = document.createElement("th"); corner.textContent = "from \\ to"; head.appendChild(corner);
    cols.forEach(function (p) { var th = document.createElement("th"); th.textContent = p.key; head.appendChild(th); });
    rows.slice(0, shown).forEach(function (s) {
      var tr = table.insertRow(); tr.className = "row"; tr.dataset.pod = s.key;
      var th = document.createElement("th"); th.textContent = s.key; tr.appendChild(th);
      cols.forEach(function (d) {
        var td = tr.insertCell(); td.className = "cell"; var c = cell(s, d);
        var ports = s.key === d.key && c && data.portsets[c[0]] === "self" ? "self" : (c ? data.portsets[c[0]] : "?");
        if (ports === "self") { td.textContent = "self"; }
        else if (iv && ports !== "?") { td.textContent = covers(ports, iv) ? "\u2713" : "\u2717"; }
        else { td.textContent = ports === "none" ? "\u2717" : ports; }
        td.classList.add(ports === "none" || (iv && !covers(ports, iv)) ? "no" : "ok");
        td.addEventListener("click", function () {
          show(s.key + " \u2192 " + d.key, "ports: " + ports + "\n\n" + (c ? data.explanations[c[1]] : "not in this report: use netpol can-reach"));
        });
      });
    });
    more.hidden = rows.length <= shown;
    note.textContent = rows.length + " of " + data.pods.length + " pods as rows" + (rows.length > shown ? ", first " + shown + " shown" : "");
  }
  [nsSelect, text, portSelect].forEach(function (el) { el.addEventListener("input", function () { shown = 50; draw(); }); });
  more.addEventListener("click", function () { shown += 50; draw(); });
  draw();
})();
