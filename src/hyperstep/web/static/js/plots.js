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

  function scatterType(n) {
    return n > 1000 ? "scattergl" : "scatter";
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
    const type = scatterType(data.n);
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
      type, mode: "lines", name: "best so far", x: x, y: data.best,
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

  function logTicks(values) {
    const finite = values.filter((v) => v !== null);
    const lo = Math.floor(Math.min(...finite));
    const hi = Math.ceil(Math.max(...finite));
    const tickvals = [];
    for (let e = lo; e <= hi; e++) tickvals.push(e);
    return { tickvals, ticktext: tickvals.map((e) => "1e" + e) };
  }

  function dimension(column) {
    const label = plotText(column.name);
    if (column.scale === "categorical") {
      const codes = column.categories.map((_, i) => i);
      return { label, values: column.values, tickvals: codes,
               ticktext: column.categories.map(plotText),
               range: [-0.5, Math.max(0.5, codes.length - 0.5)] };
    }
    if (column.scale === "log") {
      const logs = column.values.map((v) => (v === null ? null : Math.log10(v)));
      return Object.assign({ label: label + " (log)", values: logs }, logTicks(logs));
    }
    return { label, values: column.values };
  }

  function parallel(node, data) {
    ready(node);
    const dims = data.parameters.map(dimension);
    dims.push({ label: plotText(data.metric), values: data.value });
    const reverse = data.direction !== "maximize" && data.target === null;
    Plotly.react(node, [{
      type: "parcoords",
      dimensions: dims,
      line: {
        color: data.value, colorscale: "Viridis", reversescale: reverse, showscale: true,
        colorbar: { title: { text: plotText(data.metric) }, thickness: 12 },
      },
      labelfont: FONT, tickfont: { size: 11 },
    }], layout({ margin: { l: 70, r: 70, t: 40, b: 20 }, showlegend: false }), CONFIG);
  }

  function slices(container, data) {
    if (window.Plotly) container.querySelectorAll(".slice").forEach((n) => Plotly.purge(n));
    HS.clear(container);
    const type = scatterType(data.n);
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
