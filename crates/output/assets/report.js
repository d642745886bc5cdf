// buildscope report: builds the page from the JSON in #report-data. Text from profiles is
// only ever set as textContent or attribute values, never parsed as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var PHASE_COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
    "#ff9da7", "#9c755f", "#bab0ac", "#86bcb6", "#d37295", "#a0cbe8", "#8cd17d", "#f1ce63"];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) { node.setAttribute(k, attrs[k]); }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function svgEl(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) { node.setAttribute(k, attrs[k]); }
    return node;
  }
  function dur(ns) {
    if (ns === null || ns === undefined) { return "–"; }
    var s = ns / 1e9;
    if (s >= 100) { return s.toFixed(0) + " s"; }
    if (s >= 1) { return s.toFixed(2) + " s"; }
    if (ns >= 1e6) { return (ns / 1e6).toFixed(1) + " ms"; }
    return (ns / 1e3).toFixed(1) + " µs";
  }
  function pct(part, whole) { return whole ? (100 * part / whole).toFixed(1) + "%" : "–"; }

  // A table with sortable columns (click or Enter on a header) and an optional filter box.
  function table(node, columns, rows, filterBox) {
    node.textContent = "";
    var thead = el("thead"), tr = el("tr");
    var state = { col: -1, desc: true };
    columns.forEach(function (c, i) {
      var th = el("th", c.cls ? { scope: "col", "class": c.cls } : { scope: "col" });
      var b = el("button", { type: "button" }, c.title);
      b.addEventListener("click", function () {
        state.desc = state.col === i ? !state.desc : true;
        state.col = i;
        draw();
      });
      th.appendChild(b);
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    node.appendChild(thead);
    var tbody = el("tbody");
    node.appendChild(tbody);
    function draw() {
      var text = filterBox ? filterBox.value.toLowerCase() : "";
      var shown = rows.filter(function (r) {
        return !text || columns.some(function (c) { return String(c.get(r)).toLowerCase().indexOf(text) >= 0; });
      });
      if (state.col >= 0) {
        var c = columns[state.col];
        shown.sort(function (a, b) {
          var x = c.key ? c.key(a) : c.get(a), y = c.key ? c.key(b) : c.get(b);
          var r = x < y ? -1 : x > y ? 1 : 0;
          return state.desc ? -r : r;
        });
      }
      tbody.textContent = "";
      shown.forEach(function (r) {
        var row = el("tr");
        columns.forEach(function (c) {
          var shown = c.show ? c.show(r) : String(c.get(r));
          var cell = el("td", c.cls ? { "class": c.cls } : {}, shown instanceof Node ? undefined : shown);
          if (shown instanceof Node) { cell.appendChild(shown); }
          row.appendChild(cell);
        });
        tbody.appendChild(row);
      });
    }
    if (filterBox) { filterBox.addEventListener("input", draw); }
    draw();
  }

  // ---------------------------------------------------------------- summary
  var run = data.run, ex = data.explanation;
  document.getElementById("title").textContent = data.title;
  document.getElementById("subtitle").textContent = data.generated_by;
  var cards = document.getElementById("cards");
  function card(label, value) { var c = el("div", { "class": "card" }); c.appendChild(el("b", {}, value)); c.appendChild(document.createTextNode(label)); cards.appendChild(c); }
  if (run) {
    card("command", run.command);
    card("scenario", run.scenario);
    card("profile", run.profile);
    card("toolchain", run.toolchain);
    card("host", run.host + ", " + plural(run.totals.cores, "core", "cores"));
    card("wall time", dur(run.totals.wall_ns));
    card("CPU time", dur(run.totals.cpu_ns));
    card("parallelism", run.totals.average_parallelism.toFixed(2) + " of " + run.totals.cores);
    card("units (fresh / built)", run.fresh_units + " / " + run.units.length);
    var sched = ex.schedule;
    if (sched) {
      var bound = sched.work_bound_ns >= sched.chain_bound_ns ? "CPU-bound (work / cores " + dur(sched.work_bound_ns) + " > longest chain " + dur(sched.chain_bound_ns) + ")" : "chain-bound (longest chain " + dur(sched.chain_bound_ns) + " > work / cores " + dur(sched.work_bound_ns) + ")";
      card("replayed schedule", dur(sched.simulated_wall_ns) + ", " + bound);
      card("on " + sched.on_cores.map(function (c) { return c[0]; }).join(" / ") + " cores", sched.on_cores.map(function (c) { return dur(c[1]); }).join(" / "));
    }
  }
  if (ex.scaled_to) {
    card("estimates scaled to", "run " + ex.scaled_to.run_id + " without the profiler (" + dur(ex.scaled_to.wall_ns) + "; profiled " + dur(ex.scaled_to.profiled_wall_ns) + ")");
  }
  var findings = document.getElementById("findings");
  (ex.findings || []).slice(0, 3).forEach(function (f) {
    var li = el("li");
    li.appendChild(el("strong", {}, f.title));
    // With a run, estimates are wall time (the CPU the fix removes apart); from profiles
    // alone, CPU time.
    var kind = ex.schedule ? " of wall time" + (f.cpu_ns !== undefined && f.cpu_ns !== null ? " (" + dur(f.cpu_ns) + " of CPU)" : "") : " of CPU time";
    li.appendChild(document.createTextNode(" — could save up to " + dur(f.estimate_ns) + kind + " "));
    li.appendChild(el("span", { "class": "basis" }, "(" + f.estimate_basis + ")"));
    var ul = el("ul");
    f.evidence.forEach(function (e) { ul.appendChild(el("li", {}, e)); });
    ul.appendChild(el("li", {}, "Fix: " + f.fix));
    li.appendChild(ul);
    findings.appendChild(li);
  });
  if (!ex.findings || ex.findings.length === 0) { findings.appendChild(el("li", {}, "No finding: nothing stands out.")); }

  // ---------------------------------------------------------------- cost centres
  // The wall time per unit and phase; each centre of 5% or more with the findings acting
  // on it, or what it is and that no lever is known.
  var centres = ex.cost_centres;
  var named = centres ? centres.centres.filter(function (c) { return c.named; }) : [];
  if (named.length) {
    document.getElementById("centres").hidden = false;
    document.getElementById("centres-link").hidden = false;
    var rest = centres.wall_ns - named.reduce(function (s, c) { return s + c.wall_ns; }, 0);
    document.getElementById("centres-about").textContent = "Each second of the " + dur(centres.wall_ns) + " wall time shared among the units running then, a unit's share split by its profile's phases. The centres of 5% or more; the others add up to " + dur(Math.max(rest, 0)) + ".";
    table(document.getElementById("centres-table"), [
      { title: "Cost centre", get: function (c) { return c.title; } },
      { title: "Time", get: function (c) { return c.wall_ns; }, show: function (c) { return dur(c.wall_ns); }, cls: "num nowrap" },
      { title: "Share", get: function (c) { return c.share; }, show: function (c) { return (100 * c.share).toFixed(1) + "%"; }, cls: "num" },
      { title: "", get: function (c) { return c.share; }, show: function (c) { return el("span", { "class": "share-bar", style: "width:" + Math.round(200 * c.share) + "px" }); }, cls: "bar" },
      { title: "Lever", cls: "text", get: function (c) { return c.findings.length ? "finding " + c.findings.map(function (i) { return i + 1; }).join(", ") + ": " + c.findings.map(function (i) { return ex.findings[i].title; }).join("; ") + (c.why_in_build ? ". Why it is in the build: " + c.why_in_build : "") : (c.lever_in_manifest ? "your Cargo.toml: " : c.under_floor_ns !== null && c.under_floor_ns !== undefined ? "under the floor: " : "none known: ") + c.no_lever; } }
    ], named);
  }

  // ---------------------------------------------------------------- the bill
  // Each member's dependency lines, priced by what only they bring into this cold build.
  var bill = ex.bill;
  var billLines = bill ? bill.lines.filter(function (l) { return l.price.units > 0; }) : [];
  if (bill && (billLines.length || bill.features.length)) {
    document.getElementById("bill").hidden = false;
    document.getElementById("bill-link").hidden = false;
    document.getElementById("bill-about").textContent = "What each dependency line alone brings into this build: " + dur(bill.dependency_ns) + " of unit time in dependencies, " + dur(bill.wall_ns) + " wall. The wall saving is the run's schedule replayed without what only that line brings in; what two lines bring in together is neither's.";
    table(document.getElementById("bill-table"), [
      { title: "Line", get: function (l) { return l.member + " → " + l.package + " " + l.version + (l.target ? " (" + l.target + ")" : ""); } },
      { title: "Kind", get: function (l) { return l.kind; } },
      { title: "Brings in only it", get: function (l) { return l.price.packages.slice(0, 4).map(function (p) { return p.package; }).join(", ") + (l.price.packages.length > 4 ? " and " + (l.price.packages.length - 4) + " more" : ""); } },
      { title: "Crates", get: function (l) { return l.price.units; }, cls: "num" },
      { title: "Unit time", get: function (l) { return l.price.unit_ns; }, show: function (l) { return dur(l.price.unit_ns); }, cls: "num" },
      { title: "Wall saving", get: function (l) { return l.price.wall_saving_ns; }, show: function (l) { return dur(l.price.wall_saving_ns); }, cls: "num" }
    ], billLines);
    var featureList = document.getElementById("bill-features");
    bill.features.forEach(function (f) {
      var what = f.feature === "default" ? "default features turn on " : "feature `" + f.feature + "` turns on ";
      featureList.appendChild(el("li", {}, f.member + " → " + f.package + ": " + what + f.enables.join(", ") + " (" + f.price.units + " crates, " + dur(f.price.unit_ns) + " of unit time): turning " + (f.feature === "default" ? "them" : "it") + " off saves " + dur(f.price.wall_saving_ns) + " of wall time"));
    });
  }

  // ---------------------------------------------------------------- timeline
  var gantt = document.getElementById("gantt");
  var units = run ? run.units.slice() : [];
  var critical = {};
  if (run) { run.critical_path.steps.forEach(function (s) { critical[s.unit] = true; }); }
  units.sort(function (a, b) { return a.start_ns - b.start_ns || a.id - b.id; });
  var byId = {};
  units.forEach(function (u) { byId[u.id] = u; });
  var wall = run ? Math.max(run.totals.wall_ns, 1) : 1;
  function unitName(u) { return u.package + " v" + u.version + (u.kind === "lib" ? "" : " (" + u.kind + ")"); }
  // Why each unit rebuilt (cargo's reasons), when the run recorded them.
  var reasonOf = {};
  ((run && run.rebuild_reasons) || []).forEach(function (r) { reasonOf[r.unit] = r; });
  function describeReason(r) {
    switch (r.kind) {
      case "file-changed": return "`" + r.file + "` changed";
      case "dependency-rebuilt": return "its dependency `" + r.dependency + "` was rebuilt";
      case "package-changed": return "a file of the package changed (no rerun-if-changed)";
      case "file-missing": return "`" + r.file + "` is missing";
      case "env-changed": return "`" + r.variable + "` changed" +
        (r.before !== undefined || r.after !== undefined ? " (from " + (r.before === undefined || r.before === null ? "unset" : r.before) + " to " + (r.after === undefined || r.after === null ? "unset" : r.after) + ")" : "");
      case "flags-changed": case "features-changed": return r.detail;
      case "toolchain-changed": return "the toolchain changed";
      case "not-built-before": return "not built before in this target directory";
      default: return r.text || r.kind;
    }
  }
  function isRoot(r) { return r && r.kind !== "dependency-rebuilt" && r.kind !== "not-built-before"; }
  // The root each unit rebuilt for: cargo's reasons followed back to the unit dirty for a
  // reason of its own (computed by buildscope, not here).
  var cached = {};
  ((run && run.cached_units) || []).forEach(function (id) { cached[id] = true; });
  var rootOf = {};
  ((run && run.rebuild_roots) || []).forEach(function (root) {
    root.cascade.forEach(function (id) { rootOf[id] = root.unit; });
  });
  function reasonClass(r) {
    if (!r) { return ""; }
    if (r.kind === "dependency-rebuilt") { return "reason-cascade"; }
    if (r.kind === "not-built-before") { return "reason-new"; }
    return "reason-root";
  }
  // The timeline draws only the rows in view (and a screen's worth either side), more as
  // the page scrolls: on a build of 1,000 units every zoom or filter change laid out ~7,000
  // SVG elements (105–280 ms a change); the units table below lists every unit.
  var timeline = null;
  function drawGantt() {
    var minMs = Number(document.getElementById("min-duration").value) * wall / 1e6 / 100;
    document.getElementById("min-duration-out").textContent = minMs.toFixed(0) + " ms";
    var zoom = Number(document.getElementById("zoom").value);
    var width = Math.max(600, (document.body.clientWidth - 80) * zoom), label = 240, rowH = 16;
    var shown = units.filter(function (u) { return (u.end_ns - u.start_ns) / 1e6 >= minMs || critical[u.id]; });
    gantt.textContent = "";
    gantt.setAttribute("width", width);
    gantt.setAttribute("height", shown.length * rowH + 24);
    gantt.setAttribute("data-rows", shown.length);
    var x = function (ns) { return label + (width - label - 10) * ns / wall; };
    for (var t = 0; t <= 10; t++) {
      var tx = svgEl("text", { x: x(wall * t / 10), y: shown.length * rowH + 16 });
      tx.textContent = dur(wall * t / 10);
      gantt.appendChild(tx);
    }
    var rowOf = {};
    shown.forEach(function (u, i) { rowOf[u.id] = i; });
    timeline = { shown: shown, rowOf: rowOf, x: x, rowH: rowH, drawn: {} };
    drawRowsInView();
    drawConcurrency(width, label, x);
  }
  function drawRowsInView() {
    if (!timeline) { return; }
    var rowH = timeline.rowH, top = gantt.getBoundingClientRect().top;
    var view = window.innerHeight || document.documentElement.clientHeight;
    var first = Math.max(0, Math.floor((-top - view) / rowH));
    var last = Math.min(timeline.shown.length - 1, Math.ceil((2 * view - top) / rowH));
    for (var i = first; i <= last; i++) {
      if (!timeline.drawn[i]) {
        timeline.drawn[i] = true;
        drawRow(timeline.shown[i], i, timeline.rowOf, timeline.x, rowH);
      }
    }
  }
  // Browsers send scroll events at most once a frame; a scroll that brings no new row into
  // view only checks the rows in view.
  window.addEventListener("scroll", drawRowsInView, { passive: true });
  window.addEventListener("resize", drawRowsInView);
  function drawRow(u, i, rowOf, x, rowH) {
    var y = i * rowH + 2;
    var g = svgEl("g", { "class": "unit" + (critical[u.id] ? " critical" : "") + (cached[u.id] ? " cached" : ""), "data-unit": u.id, tabindex: 0 });
    var title = svgEl("title");
    var reason = reasonOf[u.id];
    var root = rootOf[u.id] !== undefined ? byId[rootOf[u.id]] : null;
    title.textContent = unitName(u) + ": " + dur(u.end_ns - u.start_ns) + (critical[u.id] ? " (critical path)" : "") +
      (cached[u.id] ? "; served from the compiler cache, not compiled" : "") +
      (reason ? "; rebuilt because " + describeReason(reason) : "") +
      (root && reasonOf[root.id] ? "; root: " + unitName(root) + ", " + describeReason(reasonOf[root.id]) : "");
    g.appendChild(title);
    var name = svgEl("text", { x: 4, y: y + 11 });
    name.textContent = unitName(u);
    g.appendChild(name);
    var split = u.rmeta_ns !== null && u.rmeta_ns !== undefined ? u.rmeta_ns : u.end_ns;
    if (u.kind === "build-script-run") {
      g.appendChild(svgEl("rect", { "class": "bs", x: x(u.start_ns), y: y, width: Math.max(1, x(u.end_ns) - x(u.start_ns)), height: rowH - 4 }));
    } else {
      g.appendChild(svgEl("rect", { "class": "fe", x: x(u.start_ns), y: y, width: Math.max(1, x(split) - x(u.start_ns)), height: rowH - 4 }));
      if (split < u.end_ns) {
        g.appendChild(svgEl("rect", { "class": "cg", x: x(split), y: y, width: Math.max(1, x(u.end_ns) - x(split)), height: rowH - 4 }));
      }
      if (u.link_ns) {
        g.appendChild(svgEl("rect", { "class": "ln", x: x(u.end_ns - u.link_ns), y: y + 3, width: Math.max(1, x(u.end_ns) - x(u.end_ns - u.link_ns)), height: rowH - 10 }));
      }
    }
    g.appendChild(svgEl("rect", { "class": "outline", x: x(u.start_ns), y: y, width: Math.max(1, x(u.end_ns) - x(u.start_ns)), height: rowH - 4 }));
    if (reason) {
      // Coloured by why it rebuilt: a reason of its own (a root), a dependency's, or new.
      g.appendChild(svgEl("rect", { "class": "reason " + reasonClass(reason), x: x(u.start_ns) - 6, y: y + 2, width: 4, height: rowH - 8 }));
    }
    function hover(on) {
      gantt.classList.toggle("hovering", on);
      g.classList.toggle("hover", on);
      Array.prototype.forEach.call(gantt.querySelectorAll("line.dep, line.to-root"), function (l) { l.remove(); });
      if (root) {
        // The unit this one rebuilt for, however far up the graph.
        var rg = gantt.querySelector('g.unit[data-unit="' + root.id + '"]');
        if (rg) { rg.classList.toggle("root-of-hover", on); }
        if (on && rowOf[root.id] !== undefined) {
          gantt.appendChild(svgEl("line", { "class": "to-root", x1: x(root.start_ns) - 4, y1: rowOf[root.id] * rowH + 8, x2: x(u.start_ns) - 4, y2: y + 6 }));
        }
      }
      u.deps.forEach(function (d) {
        var dep = gantt.querySelector('g.unit[data-unit="' + d + '"]');
        if (dep) { dep.classList.toggle("dep", on); }
        if (on && rowOf[d] !== undefined) {
          var du = byId[d];
          gantt.appendChild(svgEl("line", { "class": "dep", x1: x(du.end_ns), y1: rowOf[d] * rowH + 8, x2: x(u.start_ns), y2: y + 6 }));
        }
      });
    }
    g.addEventListener("mouseenter", function () { hover(true); });
    g.addEventListener("mouseleave", function () { hover(false); });
    g.addEventListener("focus", function () { hover(true); });
    g.addEventListener("blur", function () { hover(false); });
    gantt.appendChild(g);
  }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }
  // Running and waiting units over time: the same at every zoom, so computed once.
  var concurrency = null;
  function concurrencySeries() {
    if (concurrency) { return concurrency; }
    // Each unit is ready when its dependencies released it (their metadata for pipelined ones).
    var ready = {};
    units.forEach(function (u) {
      var r = 0;
      u.deps.forEach(function (d) {
        var du = byId[d];
        if (!du) { return; }
        var release = u.rmeta_deps.indexOf(d) >= 0 && du.rmeta_ns !== null && du.rmeta_ns !== undefined ? du.rmeta_ns : du.end_ns;
        r = Math.max(r, release);
      });
      ready[u.id] = Math.min(r, u.start_ns);
    });
    var steps = 200, busiest = 0, longestQueue = 0;
    var running = [], waiting = [];
    for (var i = 0; i <= steps; i++) {
      var t = wall * i / steps, n = 0, w = 0;
      units.forEach(function (u) {
        if (u.start_ns <= t && t < u.end_ns) { n++; }
        else if (ready[u.id] <= t && t < u.start_ns) { w++; }
      });
      running.push(n); waiting.push(w);
      busiest = Math.max(busiest, n);
      longestQueue = Math.max(longestQueue, w);
    }
    concurrency = { steps: steps, running: running, waiting: waiting, busiest: busiest, longestQueue: longestQueue };
    return concurrency;
  }
  function drawConcurrency(width, label, x) {
    var svg = document.getElementById("concurrency");
    var cores = run ? run.totals.cores : 1;
    svg.textContent = "";
    svg.setAttribute("width", width);
    if (!units.length) { return; }
    var series = concurrencySeries();
    var steps = series.steps, running = series.running, waiting = series.waiting;
    var busiest = series.busiest, longestQueue = series.longestQueue;
    // Two bands, each on its own scale: the cores (running units against idle ones, the
    // top of the band is every core), and below it the ready queue (units whose
    // dependencies are done, waiting for a core). On one scale a long queue squeezed the
    // cores into a thin strip.
    var coreBand = 70, gap = 18, queueBand = 40;
    var coreMax = Math.max(cores, busiest, 1), queueMax = Math.max(longestQueue, 1);
    var queueTop = coreBand + gap;
    svg.setAttribute("height", queueTop + queueBand + 4);
    var coreY = function (v) { return coreBand - coreBand * v / coreMax; };
    var queueY = function (v) { return queueTop + queueBand - queueBand * v / queueMax; };
    function area(values, base, y, cls) {
      var pts = [];
      for (var i = 0; i <= steps; i++) { pts.push(x(wall * i / steps) + "," + y(base[i] + values[i])); }
      for (var j = steps; j >= 0; j--) { pts.push(x(wall * j / steps) + "," + y(base[j])); }
      svg.appendChild(svgEl("polygon", { points: pts.join(" "), "class": cls }));
    }
    var zero = running.map(function () { return 0; });
    var idle = running.map(function (n) { return Math.max(0, cores - n); });
    area(running, zero, coreY, "area-running");
    area(idle, running, coreY, "area-idle");
    area(waiting, zero, queueY, "area-waiting");
    svg.appendChild(svgEl("line", { x1: x(0), x2: x(wall), y1: coreY(cores), y2: coreY(cores), "class": "cores-line" }));
    svg.appendChild(svgEl("line", { x1: x(0), x2: x(wall), y1: queueY(0), y2: queueY(0), "class": "axis-line" }));
    var coreLabel = svgEl("text", { x: 4, y: coreY(cores) + 12, "class": "band-label" });
    coreLabel.textContent = plural(cores, "core", "cores") + (busiest > cores ? " (up to " + busiest + " units at once)" : "");
    svg.appendChild(coreLabel);
    var queueLabel = svgEl("text", { x: 4, y: queueTop - 4, "class": "band-label" });
    queueLabel.textContent = longestQueue ? "ready, waiting for a core (up to " + longestQueue + " units)" : "no unit ever waited for a core";
    svg.appendChild(queueLabel);
  }
  if (run) {
    drawGantt();
    document.getElementById("min-duration").addEventListener("input", drawGantt);
    document.getElementById("zoom").addEventListener("input", drawGantt);
    // The table alternative of the timeline is built when opened.
    var unitsTable = document.getElementById("units-table");
    unitsTable.parentNode.addEventListener("toggle", function () {
      if (!unitsTable.firstChild) {
        table(unitsTable, [
          { title: "Unit", get: unitName },
          { title: "Start", get: function (u) { return u.start_ns; }, show: function (u) { return dur(u.start_ns); } },
          { title: "Duration", get: function (u) { return u.end_ns - u.start_ns; }, show: function (u) { return dur(u.end_ns - u.start_ns); } },
          { title: "Critical", get: function (u) { return critical[u.id] ? "yes" : ""; } }
        ], units);
      }
    });
  } else {
    document.getElementById("timeline").appendChild(el("p", { "class": "dim" }, "No run record: this report was made from profiles alone."));
  }

  // ---------------------------------------------------------------- phases
  var phaseTitles = [];
  var crates = (ex.crates || []).map(function (c) {
    var m = {};
    c.phases.phases.forEach(function (p) {
      if (p.phase === "profiler-overhead") { return; }
      m[p.title] = p.self_ns;
      if (phaseTitles.indexOf(p.title) < 0) { phaseTitles.push(p.title); }
    });
    var total = 0;
    for (var k in m) { total += m[k]; }
    return { name: c.crate, phases: m, total: total };
  });
  if (crates.length > 1) {
    var all = { name: "all crates", phases: {}, total: 0 };
    crates.forEach(function (c) { for (var k in c.phases) { all.phases[k] = (all.phases[k] || 0) + c.phases[k]; all.total += c.phases[k]; } });
    crates.unshift(all);
  }
  var sortBox = document.getElementById("phase-sort");
  sortBox.appendChild(el("option", { value: "" }, "total CPU time"));
  phaseTitles.forEach(function (t) { sortBox.appendChild(el("option", { value: t }, t)); });
  function drawPhases() {
    var box = document.getElementById("phase-bars");
    box.textContent = "";
    var key = el("div", { "class": "phase-key" });
    phaseTitles.forEach(function (t, i) {
      var s = el("span");
      var sw = el("span", { "class": "swatch", style: "background:" + PHASE_COLORS[i % PHASE_COLORS.length] });
      s.appendChild(sw);
      s.appendChild(document.createTextNode(t));
      key.appendChild(s);
    });
    box.appendChild(key);
    var by = sortBox.value;
    var rows = crates.slice().sort(function (a, b) { return by ? (b.phases[by] || 0) - (a.phases[by] || 0) : b.total - a.total; });
    var max = Math.max.apply(null, rows.map(function (r) { return r.total; }).concat([1]));
    rows.forEach(function (r) {
      var row = el("div", { "class": "phase-row" });
      row.appendChild(el("div", { "class": "name", title: r.name }, r.name + " " + dur(r.total)));
      var bar = el("div", { "class": "bar", role: "img", "aria-label": r.name + ": " + dur(r.total) });
      phaseTitles.forEach(function (t, i) {
        var ns = r.phases[t] || 0;
        if (!ns) { return; }
        var seg = el("span", { title: t + ": " + dur(ns), style: "width:" + (100 * ns / max) + "%;background:" + PHASE_COLORS[i % PHASE_COLORS.length] });
        bar.appendChild(seg);
      });
      row.appendChild(bar);
      box.appendChild(row);
    });
  }
  sortBox.addEventListener("change", drawPhases);
  drawPhases();
  var phaseRows = (ex.phases ? ex.phases.phases : []).filter(function (p) { return p.phase !== "profiler-overhead"; });
  var buildNs = phaseRows.reduce(function (a, p) { return a + p.self_ns; }, 0);
  table(document.getElementById("phase-table"), [
    { title: "Phase", get: function (p) { return p.title; } },
    { title: "CPU time", get: function (p) { return p.self_ns; }, show: function (p) { return dur(p.self_ns); } },
    { title: "Share", get: function (p) { return p.self_ns; }, show: function (p) { return pct(p.self_ns, buildNs); } }
  ], phaseRows);

  // ---------------------------------------------------------------- crates
  var list = document.getElementById("crate-list");
  if (!data.crates.length) { list.appendChild(el("p", { "class": "dim" }, "No self-profiles: measure with buildscope build --self-profile-crates.")); }
  if (data.raw_profiles_pruned) { list.appendChild(el("p", { "class": "dim" }, "This run's raw profiles were pruned by the retention budget (buildscope gc): its phases and findings come from the summaries saved with it; the flame graphs, heaviest invocations and trace need the raw profiles.")); }
  data.crates.forEach(function (c, index) {
    var d = el("details", { "class": "crate", "data-crate": c.name });
    d.appendChild(el("summary", {}, c.name + " — " + dur(c.cpu_ns) + " of CPU"));
    // A crate's tables and flame graph are built when it is first opened: a whole
    // build's worth of them at once would make the page slow to open.
    var built = false;
    d.addEventListener("toggle", function () {
      if (d.open && !built) { built = true; fillCrate(d, c); }
    });
    if (index === 0) { d.open = true; built = true; fillCrate(d, c); }
    list.appendChild(d);
  });
  function fillCrate(d, c) {
    var filter = el("input", { type: "search", placeholder: "Filter rows", "aria-label": "Filter " + c.name + " rows" });
    d.appendChild(filter);
    var t = el("table", { "class": "summarize", "data-crate": c.name });
    d.appendChild(t);
    table(t, [
      { title: "Item", get: function (r) { return r.label; } },
      { title: "Self time", get: function (r) { return r.self_time_ns; }, show: function (r) { return dur(r.self_time_ns); } },
      { title: "%", get: function (r) { return r.self_time_ns; }, show: function (r) { return pct(r.self_time_ns, c.cpu_ns); } },
      { title: "Time", get: function (r) { return r.time_ns; }, show: function (r) { return dur(r.time_ns); } },
      { title: "Count", get: function (r) { return r.count; } },
      { title: "Hits", get: function (r) { return r.cache_hits; } }
    ], c.rows, filter);
    if (c.rows_total > c.rows.length) { d.appendChild(el("p", { "class": "dim" }, (c.rows_total - c.rows.length) + " smaller rows not embedded (buildscope summarize has them all).")); }
    var flameBox = el("div");
    var icicle = el("label");
    var toggle = el("input", { type: "checkbox" });
    icicle.appendChild(toggle);
    icicle.appendChild(document.createTextNode(" icicle (roots at the top)"));
    d.appendChild(el("h3", {}, "Flame graph (self time by stack; click a frame to zoom)"));
    d.appendChild(icicle);
    d.appendChild(flameBox);
    var root = flameTree(c.stacks);
    var focus = root;
    function redraw() { drawFlame(flameBox, focus, toggle.checked, function (n) { focus = n === focus ? root : n; redraw(); }); }
    toggle.addEventListener("change", redraw);
    redraw();
    d.appendChild(el("h3", {}, "Heaviest single invocations"));
    var top = el("table");
    d.appendChild(top);
    table(top, [
      { title: "Item", get: function (i) { return i.label; } },
      { title: "Time", get: function (i) { return i.duration_ns; }, show: function (i) { return dur(i.duration_ns); } },
      { title: "Self", get: function (i) { return i.self_time_ns; }, show: function (i) { return dur(i.self_time_ns); } },
      { title: "Arguments", get: function (i) { return i.args.join(" · "); }, cls: "args" }
    ], c.top);
  }

  function flameTree(stacks) {
    var root = { name: "all", value: 0, children: {} };
    stacks.forEach(function (s) {
      var node = root;
      root.value += s[1];
      s[0].split(";").forEach(function (frame) {
        node.children[frame] = node.children[frame] || { name: frame, value: 0, children: {} };
        node = node.children[frame];
        node.value += s[1];
      });
    });
    return root;
  }
  function drawFlame(box, root, icicle, onClick) {
    box.textContent = "";
    var width = Math.max(600, document.body.clientWidth - 120), rowH = 16;
    var rects = [];
    var depthMax = 0;
    (function walk(node, x0, depth) {
      rects.push({ node: node, x: x0, w: width * node.value / Math.max(root.value, 1), depth: depth });
      depthMax = Math.max(depthMax, depth);
      var x = x0;
      Object.keys(node.children).sort().forEach(function (k) {
        var child = node.children[k];
        walk(child, x, depth + 1);
        x += width * child.value / Math.max(root.value, 1);
      });
    })(root, 0, 0);
    var svg = svgEl("svg", { width: width, height: (depthMax + 1) * rowH, "class": "flame", role: "img", "aria-label": "Flame graph" });
    rects.forEach(function (r, i) {
      if (r.w < 0.5) { return; }
      var y = icicle ? r.depth * rowH : (depthMax - r.depth) * rowH;
      var g = svgEl("g");
      var t = svgEl("title");
      t.textContent = r.node.name + ": " + dur(r.node.value) + " (" + pct(r.node.value, root.value) + ")";
      g.appendChild(t);
      var hue = 10 + (r.node.name.length * 37 + i) % 40;
      g.appendChild(svgEl("rect", { x: r.x, y: y, width: r.w, height: rowH - 1, fill: "hsl(" + hue + ",80%," + (55 + r.depth % 3 * 6) + "%)" }));
      if (r.w > 40) {
        var label = svgEl("text", { x: r.x + 3, y: y + 11 });
        label.textContent = r.node.name.slice(0, Math.floor(r.w / 6));
        g.appendChild(label);
      }
      g.addEventListener("click", function () { onClick(r.node); });
      svg.appendChild(g);
    });
    box.appendChild(svg);
  }

  // ---------------------------------------------------------------- compare
  var cmp = document.getElementById("compare-body");
  if (data.compare) {
    var c = data.compare;
    cmp.appendChild(el("p", {}, "Against run " + c.base_id + ": wall " + dur(c.base_wall_ns) + " → " + dur(c.new_wall_ns)));
    [["before", c.base_spread], ["after", c.new_spread]].forEach(function (s) {
      if (s[1]) {
        cmp.appendChild(el("p", { "class": "dim" }, "Run-to-run spread " + s[0] + ": " + dur(s[1].min) + " / " + dur(s[1].median) + " / " + dur(s[1].max) + " (min / median / max of " + s[1].n + " runs); a change inside it may be noise."));
      }
    });
    var ct = el("table");
    cmp.appendChild(ct);
    table(ct, [
      { title: "Unit", get: function (u) { return u.package + " (" + u.kind + ")"; } },
      { title: "Before", get: function (u) { return u.base_ns || 0; }, show: function (u) { return dur(u.base_ns); } },
      { title: "After", get: function (u) { return u.new_ns || 0; }, show: function (u) { return dur(u.new_ns); } },
      { title: "Change", get: function (u) { return (u.new_ns || 0) - (u.base_ns || 0); }, show: function (u) { var d = (u.new_ns || 0) - (u.base_ns || 0); return (d >= 0 ? "+" : "−") + dur(Math.abs(d)); } }
    ], c.units);
    function colour(node) {
      Array.prototype.forEach.call(node.querySelectorAll("tbody tr"), function (tr) {
        var cell = tr.lastChild;
        cell.className = cell.textContent.charAt(0) === "+" ? "up" : "down";
      });
    }
    colour(ct);
    if (c.phases.length) {
      cmp.appendChild(el("h3", {}, "By phase (CPU)"));
      var pt = el("table");
      cmp.appendChild(pt);
      table(pt, [
        { title: "Phase", get: function (p) { return p[0]; } },
        { title: "Before", get: function (p) { return p[1]; }, show: function (p) { return dur(p[1]); } },
        { title: "After", get: function (p) { return p[2]; }, show: function (p) { return dur(p[2]); } },
        { title: "Change", get: function (p) { return p[2] - p[1]; }, show: function (p) { var d = p[2] - p[1]; return (d >= 0 ? "+" : "−") + dur(Math.abs(d)); } }
      ], c.phases);
      colour(pt);
    }
  } else {
    cmp.appendChild(el("p", { "class": "dim" }, "One run. buildscope report RUN --compare OTHER compares two."));
  }

  // ---------------------------------------------------------------- experiment
  // In a function of its own: its names stay out of the page's shared scope.
  if (data.experiment) { (function () {
    var x = data.experiment;
    document.getElementById("experiment").hidden = false;
    document.getElementById("experiment-link").hidden = false;
    document.getElementById("experiment-sep").hidden = false;
    document.getElementById("experiment-about").textContent = "cargo " + x.command + " (" + x.scenario + "), " +
      x.variants.length + " variants × " + x.rounds + " interleaved runs; ratios of median wall times to the baseline's, with 95% intervals.";
    var median = function (values) {
      var s = values.slice().sort(function (a, b) { return a - b; });
      if (!s.length) { return 0; }
      var m = Math.floor(s.length / 2);
      return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
    };
    var verdict = function (v) {
      if (!v.vs_baseline) { return "same"; }
      if (!v.vs_baseline.significant) { return "same"; }
      return v.vs_baseline.ratio < 1 ? "faster" : "slower";
    };
    var ratioText = function (v) {
      if (!v.vs_baseline) { return "baseline"; }
      var c = v.vs_baseline;
      return c.ratio.toFixed(2) + "x [" + c.low.toFixed(2) + "–" + c.high.toFixed(2) + "]" + (c.significant ? "" : " n.s.");
    };
    var chart = document.getElementById("experiment-chart");
    var labelW = 260, rowH = 26, right = 190;
    var chartW = Math.max(640, document.body.clientWidth - 80);
    var plotW = chartW - labelW - right;
    var top = 0;
    x.variants.forEach(function (v) { top = Math.max(top, Math.max.apply(null, v.wall_ns.concat([0]))); });
    top = top || 1;
    chart.setAttribute("width", chartW);
    chart.setAttribute("height", x.variants.length * rowH + 24);
    var scale = function (ns) { return labelW + plotW * ns / top; };
    x.variants.forEach(function (v, i) {
      var y = i * rowH + 4, mid = median(v.wall_ns);
      var g = svgEl("g", { "class": "variant" });
      var name = svgEl("text", { x: 4, y: y + 15 });
      name.textContent = v.name + (v.not_applied.length ? " (not shown to take effect)" : "");
      g.appendChild(name);
      var bar = svgEl("rect", { x: labelW, y: y + 3, width: Math.max(1, scale(mid) - labelW), height: rowH - 10, "class": verdict(v) });
      var tip = svgEl("title");
      tip.textContent = v.name + ": median " + dur(mid) + ", min " + dur(Math.min.apply(null, v.wall_ns)) + ", max " + dur(Math.max.apply(null, v.wall_ns)) + "; " + ratioText(v);
      bar.appendChild(tip);
      g.appendChild(bar);
      var lo = scale(Math.min.apply(null, v.wall_ns)), hi = scale(Math.max.apply(null, v.wall_ns)), cy = y + rowH / 2 - 2;
      g.appendChild(svgEl("line", { x1: lo, x2: hi, y1: cy, y2: cy, "class": "whisker" }));
      g.appendChild(svgEl("line", { x1: lo, x2: lo, y1: cy - 4, y2: cy + 4, "class": "whisker" }));
      g.appendChild(svgEl("line", { x1: hi, x2: hi, y1: cy - 4, y2: cy + 4, "class": "whisker" }));
      var label = svgEl("text", { x: labelW + plotW + 8, y: y + 15 });
      label.textContent = dur(mid) + "  " + ratioText(v);
      g.appendChild(label);
      chart.appendChild(g);
    });
    var base = scale(median(x.variants[0].wall_ns));
    chart.appendChild(svgEl("line", { x1: base, x2: base, y1: 0, y2: x.variants.length * rowH + 4, "class": "baseline" }));
    var axis = svgEl("text", { x: labelW, y: x.variants.length * rowH + 20 });
    axis.textContent = "0 … " + dur(top) + " wall time per build";
    chart.appendChild(axis);
    var cols = [
      { title: "Variant", get: function (v) { return v.name; } },
      { title: "Median wall", get: function (v) { return median(v.wall_ns); }, show: function (v) { return dur(median(v.wall_ns)); } },
      { title: "Min", get: function (v) { return Math.min.apply(null, v.wall_ns); }, show: function (v) { return dur(Math.min.apply(null, v.wall_ns)); } },
      { title: "Max", get: function (v) { return Math.max.apply(null, v.wall_ns); }, show: function (v) { return dur(Math.max.apply(null, v.wall_ns)); } },
      { title: "vs baseline", get: function (v) { return v.vs_baseline ? v.vs_baseline.ratio : 1; }, show: ratioText },
      { title: "Median CPU", get: function (v) { return median(v.cpu_ns); }, show: function (v) { return dur(median(v.cpu_ns)); } },
      { title: "Peak RSS (MiB)", get: function (v) { return v.peak_rss_bytes || 0; }, show: function (v) { return v.peak_rss_bytes ? (v.peak_rss_bytes / 1048576).toFixed(1) : "–"; } },
      { title: "Binaries (MiB)", get: function (v) { return v.binaries_bytes; }, show: function (v) { return (v.binaries_bytes / 1048576).toFixed(2); } }
    ];
    if (x.run) {
      cols.push({ title: "--run", get: function (v) { return median(v.command_ns); }, show: function (v) { return dur(median(v.command_ns)); } });
    }
    table(document.getElementById("experiment-table"), cols, x.variants);
    var advice = document.getElementById("experiment-advice");
    var r = x.recommendation;
    if (!r.settings.length) {
      advice.appendChild(el("p", {}, "No variant was significantly faster than the baseline: nothing to change."));
    } else {
      advice.appendChild(el("h3", {}, "Faster, and worth keeping: " + r.settings.map(function (s) { return s[0] + "=" + s[1]; }).join(" ")));
      r.files.forEach(function (f) {
        advice.appendChild(el("p", {}, f[0] + ":"));
        advice.appendChild(el("pre", { "class": "snippet" }, f[1]));
      });
      if (r.confirm_with) {
        advice.appendChild(el("p", { "class": "dim" }, "Measured one at a time; to measure them together: " + r.confirm_with));
      }
    }
  })(); }

  // ---------------------------------------------------------------- history
  (function () {
    var h = data.history;
    var body = document.getElementById("history-body");
    if (!h || h.runs.length < 2) {
      body.appendChild(el("p", { "class": "dim" }, h ? "The first run of its kind (same command, scenario, machine and settings): measure more to see a trend." : "Not in the history."));
      return;
    }
    body.appendChild(el("p", { "class": "dim" }, h.runs.length + " comparable runs, oldest to newest; this run is the last. A red ring marks a value beyond the noise of the runs before it (what buildscope check flags)."));
    var width = Math.max(600, document.body.clientWidth - 80), height = 260, left = 70, right = 180, top = 10, bottom = 30;
    var svg = svgEl("svg", { id: "history-chart", width: width, height: height, role: "img", "aria-label": "Wall time, CPU time and the largest units over the comparable runs" });
    var max = 0;
    h.series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null) { max = Math.max(max, v); } }); });
    max = Math.max(max, 1);
    var n = h.runs.length;
    var x = function (i) { return left + (width - left - right) * (n === 1 ? 0 : i / (n - 1)); };
    var y = function (v) { return top + (height - top - bottom) * (1 - v / max); };
    for (var t = 0; t <= 4; t++) {
      var v = max * t / 4;
      svg.appendChild(svgEl("line", { "class": "grid", x1: left, x2: width - right, y1: y(v), y2: y(v) }));
      var label = svgEl("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" });
      label.textContent = dur(v);
      svg.appendChild(label);
    }
    var colors = ["#1f77b4", "#7f7f7f", "#2ca02c", "#9467bd", "#8c564b"];
    var labels = [];
    h.series.forEach(function (s, k) {
      var points = [];
      s.values.forEach(function (v, i) { if (v !== null) { points.push(x(i) + "," + y(v)); } });
      svg.appendChild(svgEl("polyline", { "class": "series", points: points.join(" "), stroke: colors[k % colors.length] }));
      s.values.forEach(function (v, i) {
        if (v === null) { return; }
        var dot = svgEl("circle", { cx: x(i), cy: y(v), r: s.regressed[i] ? 5 : 2.5, fill: colors[k % colors.length], "class": s.regressed[i] ? "regressed" : "" });
        var title = svgEl("title");
        title.textContent = s.measure + " in run " + h.runs[i].id + ": " + dur(v) + (s.regressed[i] ? " — beyond the noise of the runs before it" : "");
        dot.appendChild(title);
        svg.appendChild(dot);
      });
      var last = s.values[s.values.length - 1];
      labels.push({ y: last === null ? top + 14 * k : y(last), text: s.measure.replace(/^unit:/, ""), color: colors[k % colors.length] });
    });
    // Names at the end of their lines, pushed apart where lines end close together.
    labels.sort(function (a, b) { return a.y - b.y; });
    labels.forEach(function (l, i) {
      if (i > 0) { l.y = Math.max(l.y, labels[i - 1].y + 13); }
      var name = svgEl("text", { x: width - right + 8, y: l.y + 4, fill: l.color });
      name.textContent = l.text;
      svg.appendChild(name);
    });
    body.appendChild(el("div", { "class": "scroll" }));
    body.lastChild.appendChild(svg);
  })();

  // ---------------------------------------------------------------- links
  var links = document.getElementById("link-list");
  data.links.forEach(function (l) {
    var li = el("li");
    li.appendChild(el("a", { href: l[1] }, l[0]));
    links.appendChild(li);
  });
  document.body.setAttribute("data-ready", "1");
})();
