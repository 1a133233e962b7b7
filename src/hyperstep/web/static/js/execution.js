/* The execution page: live status, metadata charts over time, and a tail of the logs. */
"use strict";

(function () {
  const { api, clear, el, fmt, fmtDuration, live, pageData, statusBadge, throttled } = HS;
  const page = pageData();
  let execution = page.execution;
  const finalStatuses = new Set(page.final || []);
  const MAX_LINES = 10000;
  const X_CANDIDATES = ["epoch", "step", "_time"];

  const nodes = {
    status: document.getElementById("exec-status"),
    detail: document.getElementById("exec-detail"),
    stop: document.getElementById("stop-execution"),
    exitCode: document.getElementById("exit-code"),
    duration: document.getElementById("duration"),
    endTime: document.getElementById("end-time"),
    latest: document.getElementById("metadata-latest"),
    chart: document.getElementById("metadata-chart"),
    chartX: document.getElementById("chart-x"),
    chartY: document.getElementById("chart-y"),
    chartNote: document.getElementById("chart-note"),
    log: document.getElementById("log"),
    follow: document.getElementById("log-follow"),
    logCount: document.getElementById("log-count"),
  };

  // -- status -------------------------------------------------------------------------------

  function renderStatus() {
    clear(nodes.status).appendChild(statusBadge(execution.status));
    nodes.detail.textContent = execution.status_detail || "";
    nodes.detail.hidden = !execution.status_detail;
    nodes.stop.hidden = finalStatuses.has(execution.status) || execution.status === "stopping";
    nodes.exitCode.textContent = fmt(execution.exit_code);
    nodes.duration.textContent = fmtDuration(execution.duration);
    nodes.endTime.textContent = execution.end_time || "–";
    clear(nodes.latest);
    const entries = Object.entries(execution.cumulative_metadata || {});
    if (!entries.length) nodes.latest.appendChild(el("tr", null, el("td", { class: "muted" }, "nothing yet")));
    entries.forEach(([key, value]) =>
      nodes.latest.appendChild(el("tr", null, el("th", null, key), el("td", null, fmt(value)))));
  }

  nodes.stop.addEventListener("click", async () => {
    nodes.stop.disabled = true;
    try {
      execution = await api("/api/v0/executions/" + execution.id + "/stop/", { method: "POST" });
      renderStatus();
    } catch (e) {
      nodes.detail.hidden = false;
      nodes.detail.textContent = e.message;
    } finally {
      nodes.stop.disabled = false;
    }
  });

  // -- logs ---------------------------------------------------------------------------------

  let lastLine = 0;
  let linesShown = 0;

  function appendLines(events) {
    const atBottom = nodes.log.scrollTop + nodes.log.clientHeight >= nodes.log.scrollHeight - 20;
    const fragment = document.createDocumentFragment();
    events.forEach((event) => {
      fragment.appendChild(el("span", { class: "line " + event.stream, dataset: { seq: event.seq } }, event.message + "\n"));
      lastLine = Math.max(lastLine, event.seq);
    });
    nodes.log.appendChild(fragment);
    linesShown += events.length;
    while (linesShown > MAX_LINES && nodes.log.firstChild) {
      nodes.log.removeChild(nodes.log.firstChild);
      linesShown -= 1;
    }
    nodes.logCount.textContent = lastLine + " lines";
    if (nodes.follow.checked && (atBottom || events.length)) nodes.log.scrollTop = nodes.log.scrollHeight;
  }

  const refreshLogs = throttled(async function () {
    const query = lastLine ? "?after=" + lastLine : "?tail=2000";
    const data = await api("/api/v0/executions/" + execution.id + "/events/" + query);
    appendLines(data.events);
    if (data.truncated) refreshLogs();
  }, 500);

  // -- metadata chart -----------------------------------------------------------------------

  let events = [];
  let lastEvent = 0;
  const chosenY = new Set();

  function numericKeys() {
    const keys = new Set();
    events.forEach((e) => Object.entries(e.data).forEach(([k, v]) => {
      if (typeof v === "number" && k !== "_time") keys.add(k);
    }));
    return Array.from(keys).sort();
  }

  function xValue(event, key, index) {
    if (key === "_time") return event.data._time || event.time;
    if (key === "#") return index + 1;
    return event.data[key];
  }

  function renderChart() {
    const keys = numericKeys();
    if (!events.length || !keys.length) {
      nodes.chartNote.hidden = false;
      nodes.chartNote.textContent = "No numeric metadata yet: the program prints none so far.";
      return;
    }
    nodes.chartNote.hidden = true;
    const xs = X_CANDIDATES.filter((k) => k === "_time" || keys.includes(k)).concat(["#"]);
    const currentX = nodes.chartX.value || xs[0];
    clear(nodes.chartX);
    xs.forEach((k) => nodes.chartX.appendChild(el("option", { value: k }, k === "#" ? "event number" : k)));
    nodes.chartX.value = xs.includes(currentX) ? currentX : xs[0];
    const x = nodes.chartX.value;
    const ys = keys.filter((k) => k !== x);
    if (!chosenY.size && ys.length) {
      ys.filter((k) => !X_CANDIDATES.includes(k)).slice(0, 2).forEach((k) => chosenY.add(k));
      if (!chosenY.size) chosenY.add(ys[0]);
    }
    clear(nodes.chartY);
    ys.forEach((k) => {
      const box = el("input", { type: "checkbox", value: k, checked: chosenY.has(k) });
      box.addEventListener("change", () => {
        if (box.checked) chosenY.add(k); else chosenY.delete(k);
        renderChart();
      });
      nodes.chartY.appendChild(el("label", { class: "check" }, box, " " + k));
    });
    if (!window.Plotly) return;
    const traces = ys.filter((k) => chosenY.has(k)).map((k, i) => {
      const points = events.map((e, index) => [xValue(e, x, index), e.data[k]]).filter((p) => typeof p[1] === "number" && p[0] !== undefined);
      return {
        type: "scatter", mode: points.length > 500 ? "lines" : "lines+markers",
        name: plotText(k), x: points.map((p) => p[0]), y: points.map((p) => p[1]),
        yaxis: i === 0 ? "y" : "y2", marker: { size: 5 },
      };
    });
    const layout = {
      font: { family: "system-ui, sans-serif", size: 12 }, margin: { l: 60, r: 60, t: 10, b: 45 },
      paper_bgcolor: "rgba(0,0,0,0)", hovermode: "x unified",
      xaxis: {
        title: { text: plotText(x === "#" ? "event number" : x) },
        type: x === "_time" ? "date" : "-",
        dtick: x !== "_time" && smallRange(traces) ? 1 : undefined,
      },
      yaxis: { title: { text: traces[0] ? traces[0].name : "" } },
      legend: { orientation: "h", y: -0.25 },
    };
    if (traces.length > 1) {
      layout.yaxis2 = { overlaying: "y", side: "right", title: { text: traces.slice(1).map((t) => t.name).join(", ") } };
    }
    Plotly.react(nodes.chart, traces, layout, { responsive: true, displaylogo: false });
  }

  /* Whole steps on the axis when x counts a few epochs or steps (not 1.2, 1.4, ...). */
  function smallRange(traces) {
    const xs = traces.flatMap((t) => t.x).filter((v) => typeof v === "number");
    return xs.length > 0 && Math.max(...xs) - Math.min(...xs) <= 20 && xs.every(Number.isInteger);
  }

  function plotText(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  nodes.chartX.addEventListener("change", () => {
    chosenY.clear();
    renderChart();
  });

  const refreshMetadata = throttled(async function () {
    const data = await api("/api/v0/executions/" + execution.id + "/metadata/?after=" + lastEvent);
    data.events.forEach((e) => { lastEvent = Math.max(lastEvent, e.seq); });
    events = events.concat(data.events);
    renderChart();
    if (data.events.length && lastEvent < data.total) refreshMetadata();
  }, 1000);

  // -- live ---------------------------------------------------------------------------------

  renderStatus();
  refreshLogs();
  refreshMetadata();

  const source = live("/api/v0/stream/?execution=" + encodeURIComponent(execution.id), {
    execution(event) {
      Object.assign(execution, {
        status: event.status,
        duration: event.duration,
        cumulative_metadata: event.cumulative_metadata || execution.cumulative_metadata,
      });
      if (event.n_log_lines > lastLine) refreshLogs();
      if (event.n_events > lastEvent) refreshMetadata();
      if (finalStatuses.has(event.status)) {
        api("/api/v0/executions/" + execution.id + "/").then((full) => {
          execution = full;
          renderStatus();
        });
      } else {
        renderStatus();
      }
    },
  });
  window.addEventListener("beforeunload", () => source && source.close());
})();
