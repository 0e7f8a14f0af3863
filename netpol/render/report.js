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
  // graph: a click on a group shows its pods, isolation and connections, from the engine's per-class panels
  var groups = data.groups || {}, panels = data.panels || [], podsOf = {}, FEW = 10;
  data.pods.forEach(function (p) { (podsOf[p.cls] = podsOf[p.cls] || []).push(p.key); });
  function names(keys) {
    return keys.slice(0, FEW).join(", ") + (keys.length > FEW ? " and " + (keys.length - FEW) + " more" : "");
  }
  function indent(text) { return text.replace(/\n/g, "\n    "); }
  var one = {};
  data.pods.forEach(function (p) { one[p.key] = p.one; });
  function entries(list, own) {  // own: the clicked group's pods, named together as "one another"
    if (!list.length) { return ["  nobody"]; }
    return list.map(function (e) {
      var keys = [].concat.apply([], e.classes.map(function (c) { return podsOf[c]; }));
      var others = keys.filter(function (k) { return own.indexOf(k) < 0; });
      var mine = keys.length > others.length && (own.length > 1 || !one[own[0]]);
      var peer = e.address !== null ? e.address : names(others) + (mine ? (others.length ? ", " : "") + "its pods with one another" : "");
      return "  " + peer + " on " + data.portsets[e.ports] + "\n    " + indent(data.explanations[e.why]);
    });
  }
  function classLines(c, own) {
    var info = data.classes[c], panel = panels[c];
    var lines = ["ingress: " + (info.ingress.length ? "isolated by " + info.ingress.join(", ") : "not isolated by a NetworkPolicy"),
                 "egress: " + (info.egress.length ? "isolated by " + info.egress.join(", ") : "not isolated by a NetworkPolicy")];
    if (info.tiered.length) { lines.push("Admin/Baseline policies select it for: " + info.tiered.join(", ")); }
    lines.push("", "who can reach it (the input's pods, and outside addresses):");
    lines = lines.concat(entries(panel["in"], own));
    lines.push("", "whom it reaches (the input's pods, and outside addresses):");
    return lines.concat(entries(panel.out, own));
  }
  document.querySelectorAll("#graph g.node").forEach(function (node) {
    var title = node.querySelector("title");
    if (!title) { return; }
    var id = decodeURIComponent(title.textContent);
    node.addEventListener("click", function () {
      var g = groups[id];
      if (!g) { show(id, "this node stands for several groups or for outside addresses: click a group of pods for its connections"); return; }
      var lines = ["pods: " + names(g.pods)];
      var labels = Object.keys(g.labels).map(function (k) { return k + "=" + g.labels[k]; }).join(", ") || "none";
      lines.push((g.pods.length > 1 ? "labels all its pods have: " : "labels: ") + labels);
      var seen = {}, parts = [];
      g.classes.forEach(function (c) {
        var text = classLines(c, g.pods).join("\n");
        if (!(text in seen)) { seen[text] = []; parts.push(text); }
        seen[text].push(c);
      });
      parts.forEach(function (text) {
        if (parts.length > 1) {
          var mine = g.pods.filter(function (k) { return seen[text].some(function (c) { return podsOf[c].indexOf(k) >= 0; }); });
          lines.push("", "for " + names(mine) + ":");
        }
        lines.push(text);
      });
      lines.push("", "For pods that are not in the input: netpol exposure NS/POD --any-pod.");
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
  function span(proto, r) {  // one span of PortSet text as [first, last]: "80", "1-79", "all"; ICMP "8", "0-7", "3/1-3"
    if (r === "all") { return [0, 65535]; }
    if (proto.indexOf("ICMP") !== 0) { var b = r.split("-"); return [+b[0], +(b[1] || b[0])]; }
    var m = /^(\d+)(?:\/(\d+))?(?:-(\d+))?$/.exec(r), t = +m[1];  // ICMP: type*256+code, as portsets encodes it
    if (m[2] === undefined) { return [t * 256, (m[3] === undefined ? t : +m[3]) * 256 + 255]; }
    return [t * 256 + +m[2], t * 256 + (m[3] === undefined ? +m[2] : +m[3])];
  }
  function parse(iv) { var k = iv.indexOf(":"), p = iv.slice(0, k); return [p].concat(span(p, iv.slice(k + 1))); }
  function covers(ports, iv) {  // does a port set string ("TCP:80,443 UDP:53", "all") hold the interval?
    if (ports === "all") { return true; }
    if (ports === "none" || ports === "self") { return ports === "self"; }
    var want = parse(iv);
    return ports.split(" ").some(function (part) {
      var k = part.indexOf(":"); if (part.slice(0, k) !== want[0]) { return false; }
      return part.slice(k + 1).split(",").some(function (r) {
        var b = span(want[0], r); return b[0] <= want[1] && want[2] <= b[1];
      });
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
        var ports = s.key === d.key && s.one ? "self" : (c ? data.portsets[c[0]] : "?");  // one pod and itself
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
