// The report's behaviour: draw each chart from its Vega-Lite spec when it comes near
// the screen (a long report opens fast), and sort tables by a click on a header.
// Nothing here fetches anything: the specs and the Vega builds are inline.
(function () {
  "use strict";
  var specs = JSON.parse(document.getElementById("chart-specs").textContent);
  var charts = Array.prototype.slice.call(document.querySelectorAll("[data-chart]"));

  function draw(el) {
    if (el.dataset.state) return el._drawn;
    el.dataset.state = "drawing";
    el._drawn = Promise.resolve()
      .then(function () {
        var spec = specs[el.dataset.chart];
        if (!spec) throw new Error("no chart spec " + el.dataset.chart);
        var compiled = vegaLite.compile(spec).spec;
        var view = new vega.View(vega.parse(compiled), {
          renderer: "canvas",
          container: el,
          hover: true,
        });
        return view.runAsync();
      })
      .then(function () {
        el.dataset.state = "drawn";
      })
      .catch(function (err) {
        el.dataset.state = "failed";
        el.textContent = "this chart could not be drawn: " + err.message;
        console.error("chart " + el.dataset.chart + ": " + err.message);
      });
    return el._drawn;
  }

  function near(el) {
    var r = el.getBoundingClientRect();
    return r.bottom >= -400 && r.top <= window.innerHeight + 400;
  }

  // Draw what is on screen now (after an anchor jump too), the rest when scrolled to.
  var first = charts.filter(near).map(draw);
  Promise.all(first).then(function () {
    document.documentElement.dataset.ready = "1";
    if (window.performance && performance.mark) performance.mark("report-ready");
  });
  if ("IntersectionObserver" in window) {
    var io = new IntersectionObserver(
      function (entries) {
        entries.forEach(function (e) {
          if (e.isIntersecting) {
            io.unobserve(e.target);
            draw(e.target);
          }
        });
      },
      { rootMargin: "400px 0px" }
    );
    charts.forEach(function (el) {
      if (!el.dataset.state) io.observe(el);
    });
  } else {
    charts.forEach(draw);
  }

  // For printing, and for tests: draw every chart now.
  window.monitorReport = {
    drawAll: function () {
      return Promise.all(charts.map(draw));
    },
  };
  window.addEventListener("beforeprint", function () {
    charts.forEach(draw);
  });

  // Sortable tables: a header click sorts by that column (numbers by their raw value
  // in data-v, so "1.2e-05" sorts as a number), a second click reverses.
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.tabIndex = 0;
      th.title = "sort by " + th.textContent;
      function sort() {
        var numeric = th.dataset.type === "num";
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        Array.prototype.forEach.call(heads, function (h) {
          h.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var u = x.dataset.v !== undefined ? x.dataset.v : x.textContent;
          var v = y.dataset.v !== undefined ? y.dataset.v : y.textContent;
          if (numeric) {
            u = u === "" ? Infinity : parseFloat(u);
            v = v === "" ? Infinity : parseFloat(v);
            return dir * (u - v || 0);
          }
          return dir * u.localeCompare(v);
        });
        rows.forEach(function (r) {
          body.appendChild(r);
        });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter") sort();
      });
    });
  });
})();
