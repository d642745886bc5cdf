(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("scale-data").textContent);
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function fmt(unit, v) {
    if (unit === "bytes") {
      var units = ["B", "KiB", "MiB", "GiB"], i = 0;
      while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
      return v.toPrecision(3) + " " + units[i];
    }
    if (v >= 1e9) { return (v / 1e9).toPrecision(3) + " s"; }
    if (v >= 1e6) { return (v / 1e6).toPrecision(3) + " ms"; }
    return (v / 1e3).toPrecision(3) + " µs";
  }
  function median(values) {
    var s = values.slice().sort(function (a, b) { return a - b; });
    var m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }
  document.getElementById("title").textContent = "Scaling: " + data.generator;
  document.getElementById("subtitle").textContent = data.scenario + " · sizes " + data.sizes.join(", ") + " · " + data.runs + " run(s) each";
  document.getElementById("headline").textContent = data.headline || "";
  var failures = document.getElementById("failures");
  data.failures.forEach(function (f) { failures.appendChild(el("li", {}, "n=" + f[0] + ": not measured: " + f[1])); });
  var charts = document.getElementById("charts");
  data.measures.forEach(function (m) {
    var points = m.points.filter(function (p) { return p.values.length && p.values.every(function (v) { return v > 0; }); });
    if (!points.length) { return; }
    var box = el("div", { "class": "chart" });
    var title = m.measure + (m.fit ? " — n^" + m.fit.exponent.toFixed(2) + " [" + m.fit.interval[0].toFixed(2) + ", " + m.fit.interval[1].toFixed(2) + "], " + m.fit.growth : "");
    box.appendChild(el("h3", {}, title));
    var w = 400, h = 220, left = 64, right = 12, top = 10, bottom = 30;
    var svg = svgEl("svg", { width: w, height: h, role: "img", "aria-label": title });
    var lx = function (n) { return Math.log(n); };
    var sizes = points.map(function (p) { return p.size; });
    var all = [];
    points.forEach(function (p) { all = all.concat(p.values); });
    var x0 = lx(Math.min.apply(null, sizes)), x1 = lx(Math.max.apply(null, sizes));
    var y0 = Math.log(Math.min.apply(null, all)), y1 = Math.log(Math.max.apply(null, all));
    if (m.fit) {
      y0 = Math.min(y0, Math.log(m.fit.coefficient) + m.fit.exponent * x0);
      y1 = Math.max(y1, Math.log(m.fit.coefficient) + m.fit.exponent * x1);
    }
    var pad = (y1 - y0) * 0.08 || 0.1;
    y0 -= pad; y1 += pad;
    var xs = function (n) { return left + (w - left - right) * (x1 === x0 ? 0.5 : (lx(n) - x0) / (x1 - x0)); };
    var ys = function (v) { return top + (h - top - bottom) * (1 - (Math.log(v) - y0) / (y1 - y0)); };
    svg.appendChild(svgEl("line", { "class": "axis", x1: left, x2: w - right, y1: h - bottom, y2: h - bottom }));
    svg.appendChild(svgEl("line", { "class": "axis", x1: left, x2: left, y1: top, y2: h - bottom }));
    sizes.forEach(function (n) {
      var t = svgEl("text", { x: xs(n), y: h - bottom + 16, "text-anchor": "middle" });
      t.textContent = n;
      svg.appendChild(t);
    });
    [Math.exp(y0 + pad), Math.exp(y1 - pad)].forEach(function (v) {
      var t = svgEl("text", { x: left - 6, y: ys(v) + 4, "text-anchor": "end" });
      t.textContent = fmt(m.unit, v);
      svg.appendChild(t);
    });
    if (m.fit) {
      var f = function (n) { return m.fit.coefficient * Math.pow(n, m.fit.exponent); };
      var a = Math.min.apply(null, sizes), b = Math.max.apply(null, sizes);
      svg.appendChild(svgEl("line", { "class": "fit", x1: xs(a), y1: ys(f(a)), x2: xs(b), y2: ys(f(b)) }));
    }
    points.forEach(function (p) {
      var lo = Math.min.apply(null, p.values), hi = Math.max.apply(null, p.values), mid = median(p.values);
      svg.appendChild(svgEl("line", { "class": "whisker", x1: xs(p.size), x2: xs(p.size), y1: ys(lo), y2: ys(hi) }));
      var dot = svgEl("circle", { cx: xs(p.size), cy: ys(mid), r: 3.5 });
      var tip = svgEl("title");
      tip.textContent = "n=" + p.size + ": " + fmt(m.unit, mid) + " (" + fmt(m.unit, lo) + "–" + fmt(m.unit, hi) + ")";
      dot.appendChild(tip);
      svg.appendChild(dot);
    });
    box.appendChild(svg);
    charts.appendChild(box);
  });
  document.body.setAttribute("data-ready", "1");
})();
