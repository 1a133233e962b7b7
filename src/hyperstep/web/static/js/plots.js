/* The task page's plots, drawn with Plotly.js from the compact arrays of
 * GET /api/v0/tasks/{id}/plots/.
 *
 * Plotly reads a few HTML-like tags in labels; every label that comes from data (metric keys,
 * parameter names, categories) goes through plotText(), which escapes them, so a label shows
 * as the text it is.
 */
"use strict";

const HSPlots = (function () {
  const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  const COLORS = { model: "#2563eb", startup: "#9ca3af", best: "#dc2626", target: "#16a34a" };
  const FONT = { family: "system-ui, -apple-system, Segoe UI, sans-serif", size: 12, color: "#1f2937" };

  function plotText(value) {
    return String(value)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  function layout(extra) {
    return Object.assign(
      {
        font: FONT,
        margin: { l: 60, r: 20, t: 10, b: 45 },
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "#ffffff",
        hovermode: "closest",
        showlegend: true,
        legend: { orientation: "h", y: -0.22 },
      },
      extra
    );
  }

  /* SVG only: WebGL traces compile code at run time, which the Content-Security-Policy
   * forbids ('unsafe-eval'), and need a GPU to be fast. */
  function scatterType() {
    return "scatter";
  }

  function empty(node, message) {
    if (window.Plotly) Plotly.purge(node);
    HS.clear(node).appendChild(HS.el("p", { class: "plot-empty muted" }, message));
  }

  /* Remove an "empty" message left by an earlier draw before Plotly draws into the node. */
  function ready(node) {
    node.querySelectorAll(":scope > .plot-empty").forEach((n) => n.remove());
  }

  function history(node, data) {
    ready(node);
    const metric = plotText(data.metric);
    const x = data.index.map((i, k) => (i === null ? k + 1 : i + 1));
    const startup = [];
    const model = [];
    for (let k = 0; k < data.n; k++) {
      (data.index[k] !== null && data.index[k] < data.startup ? startup : model).push(k);
    }
    const pick = (arr, idx) => idx.map((k) => arr[k]);
    const type = scatterType();
    const traces = [];
    const hover = "#%{customdata}<br>" + metric + " = %{y}<extra></extra>";
    if (startup.length) {
      traces.push({
        type, mode: "markers", name: "random start-up",
        x: pick(x, startup), y: pick(data.value, startup), customdata: pick(data.counter, startup),
        marker: { color: COLORS.startup, size: 7, symbol: "diamond" }, hovertemplate: hover,
      });
    }
    traces.push({
      type, mode: "markers", name: startup.length ? "proposed by the engine" : "execution",
      x: pick(x, model), y: pick(data.value, model), customdata: pick(data.counter, model),
      marker: { color: COLORS.model, size: 7 }, hovertemplate: hover,
    });
    traces.push({
      type, mode: "lines", name: "best so far", x: data.best_line.x, y: data.best_line.y,
      line: { color: COLORS.best, width: 2, shape: "hv" }, hoverinfo: "skip",
    });
    const shapes = [];
    if (data.target !== null && data.target !== undefined) {
      shapes.push({
        type: "line", xref: "paper", x0: 0, x1: 1, y0: data.target, y1: data.target,
        line: { color: COLORS.target, dash: "dash", width: 1 },
      });
    }
    Plotly.react(node, traces, layout({
      xaxis: { title: { text: "execution (task order)" }, zeroline: false,
               dtick: Math.max(...x, 1) <= 10 ? 1 : undefined },
      yaxis: { title: { text: metric }, zeroline: false },
      shapes,
    }), CONFIG);
  }

  function importance(node, data) {
    if (!data.importance || !data.importance.length) {
      empty(node, "Parameter importance needs at least 8 complete executions.");
      return;
    }
    ready(node);
    const items = data.importance.slice().reverse();
    Plotly.react(node, [{
      type: "bar", orientation: "h",
      x: items.map((i) => i.importance), y: items.map((i) => plotText(i.name)),
      marker: { color: COLORS.model },
      hovertemplate: "%{y}: %{x:.3f}<extra></extra>",
    }], layout({
      showlegend: false,
      margin: { l: 140, r: 20, t: 10, b: 45 },
      xaxis: { title: { text: "importance (random-forest impurity decrease)" }, range: [0, 1] },
    }), CONFIG);
  }

  /* Parallel coordinates drawn as SVG lines (no WebGL, so no 'unsafe-eval' and no GPU
   * needed): every axis is scaled to [0, 1] (log10 first for log parameters, categories
   * evenly spaced), executions are coloured by the metric in ten bands and drawn worst first,
   * and the best execution is drawn last, in red. */
  const VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e",
                   "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];

  function span(values) {
    let lo = Infinity;
    let hi = -Infinity;
    values.forEach((v) => {
      if (v === null) return;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    });
    return [lo, hi];
  }

  function scaled(values, lo, hi) {
    return values.map((v) => (v === null ? null : hi > lo ? (v - lo) / (hi - lo) : 0.5));
  }

  function linearAxis(label, values) {
    const [lo, hi] = span(values);
    const ticks = [];
    const steps = hi > lo ? 4 : 0;
    for (let i = 0; i <= steps; i++) {
      const value = lo + ((hi - lo) * i) / (steps || 1);
      ticks.push({ y: steps ? i / steps : 0.5, text: HS.fmt(value) });
    }
    return { label, pos: scaled(values, lo, hi), ticks };
  }

  function axisOf(column) {
    const label = plotText(column.name);
    if (column.scale === "categorical") {
      const k = column.categories.length;
      const at = (code) => (k > 1 ? code / (k - 1) : 0.5);
      return {
        label,
        pos: column.values.map((c) => (c === null ? null : at(c))),
        ticks: column.categories.map((c, i) => ({ y: at(i), text: plotText(c) })),
      };
    }
    if (column.scale === "log") {
      const logs = column.values.map((v) => (v === null ? null : Math.log10(v)));
      const [lo, hi] = span(logs);
      const ticks = [];
      for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
        ticks.push({ y: hi > lo ? (e - lo) / (hi - lo) : 0.5, text: "1e" + e });
      }
      if (ticks.length < 2) {
        ticks.push({ y: 0, text: HS.fmt(Math.pow(10, lo)) }, { y: 1, text: HS.fmt(Math.pow(10, hi)) });
      }
      return { label: label + " (log)", pos: scaled(logs, lo, hi), ticks };
    }
    return linearAxis(label, column.values);
  }

  function parallel(node, data) {
    ready(node);
    const axes = data.parameters.map(axisOf);
    axes.push(linearAxis(plotText(data.metric), data.value));
    const reverse = data.direction !== "maximize" && data.target === null;
    const [vlo, vhi] = span(data.value);
    const band = (v) => {
      let t = vhi > vlo ? (v - vlo) / (vhi - vlo) : 0.5;
      if (reverse) t = 1 - t;
      return Math.min(VIRIDIS.length - 1, Math.floor(t * VIRIDIS.length));
    };
    const order = data.objective.map((_, i) => i).sort((a, b) => data.objective[b] - data.objective[a]);
    const bands = VIRIDIS.map(() => ({ x: [], y: [] }));
    order.forEach((i) => {
      const target = bands[band(data.value[i])];
      axes.forEach((axis, d) => {
        target.x.push(d);
        target.y.push(axis.pos[i]);
      });
      target.x.push(null);
      target.y.push(null);
    });
    const traces = bands.map((b, k) => ({
      type: "scatter", mode: "lines", x: b.x, y: b.y, hoverinfo: "skip", showlegend: false,
      line: { color: VIRIDIS[k], width: 1 }, opacity: 0.55, connectgaps: false,
    }));
    const best = order[order.length - 1];
    traces.push({
      type: "scatter", mode: "lines+markers", name: "best #" + data.counter[best],
      x: axes.map((_, d) => d), y: axes.map((axis) => axis.pos[best]), hoverinfo: "skip",
      line: { color: COLORS.best, width: 3 }, marker: { size: 6 },
    });
    traces.push({
      type: "scatter", mode: "markers", x: [null], y: [null], hoverinfo: "skip", showlegend: false,
      marker: { color: [vlo, vhi], colorscale: "Viridis", reversescale: reverse, showscale: true,
                colorbar: { title: { text: plotText(data.metric) }, thickness: 12 } },
    });
    const shapes = axes.map((_, d) => ({
      type: "line", x0: d, x1: d, y0: 0, y1: 1, line: { color: "#6b7280", width: 1 },
    }));
    const annotations = [];
    axes.forEach((axis, d) => {
      annotations.push({ x: d, y: 1.04, text: "<b>" + axis.label + "</b>", showarrow: false,
                         yanchor: "bottom", font: { size: 12 } });
      axis.ticks.forEach((tick) => annotations.push({
        x: d, y: tick.y, text: tick.text, showarrow: false, xanchor: "right", xshift: -4,
        font: { size: 10, color: "#374151" }, bgcolor: "rgba(255,255,255,0.7)",
      }));
    });
    Plotly.react(node, traces, layout({
      margin: { l: 70, r: 40, t: 30, b: 10 },
      xaxis: { range: [-0.45, axes.length - 0.8], visible: false, fixedrange: true },
      yaxis: { range: [-0.04, 1.12], visible: false, fixedrange: true },
      shapes, annotations, dragmode: false, legend: { orientation: "h", y: -0.02, x: 0 },
    }), CONFIG);
  }

  function slices(container, data) {
    if (window.Plotly) container.querySelectorAll(".slice").forEach((n) => Plotly.purge(n));
    HS.clear(container);
    const type = scatterType();
    data.parameters.forEach((column) => {
      const node = HS.el("div", { class: "slice plot" });
      container.appendChild(node);
      let x = column.values;
      const xaxis = { title: { text: plotText(column.name) }, zeroline: false };
      if (column.scale === "categorical") {
        x = column.values.map((c) => (c === null ? null : plotText(column.categories[c])));
        xaxis.type = "category";
      } else if (column.scale === "log") {
        xaxis.type = "log";
        xaxis.exponentformat = "power";
      }
      const order = data.index.map((i, k) => (i === null ? k : i));
      Plotly.react(node, [{
        type, mode: "markers", x, y: data.value, customdata: data.counter,
        marker: { size: 6, color: order, colorscale: "Blues", showscale: false, opacity: 0.8 },
        hovertemplate: "#%{customdata}: %{x} → %{y}<extra></extra>",
      }], layout({
        showlegend: false, margin: { l: 55, r: 10, t: 10, b: 45 },
        xaxis, yaxis: { title: { text: plotText(data.metric) }, zeroline: false },
      }), CONFIG);
    });
  }

  function render(nodes, data) {
    if (!window.Plotly) {
      empty(nodes.history, "Plotly.js is not available (pip install hyperstep[web]).");
      return;
    }
    if (!data.metric || !data.n) {
      const why = data.metric
        ? "No complete execution has logged " + data.metric + " yet."
        : "No metric to plot yet: executions have not printed any.";
      [nodes.history, nodes.importance, nodes.parallel].forEach((n) => empty(n, why));
      HS.clear(nodes.slices);
      return;
    }
    history(nodes.history, data);
    importance(nodes.importance, data);
    if (data.parameters.length) {
      parallel(nodes.parallel, data);
      slices(nodes.slices, data);
    } else {
      empty(nodes.parallel, "The task varies no parameter.");
      HS.clear(nodes.slices);
    }
  }

  return { render, plotText };
})();
