/* The task page: status, best execution, plots and a sortable, paged executions table, all
 * refreshed from the event stream while the task runs. */
"use strict";

(function () {
  const { api, clear, el, fmt, fmtDuration, live, pageData, progressBar, statusBadge, throttled } = HS;
  const page = pageData();
  let task = page.task;
  const finalStatuses = new Set(page.final || []);
  const state = { ordering: "-counter", offset: 0, limit: 50, status: "", metric: "" };

  const nodes = {
    status: document.getElementById("task-status"),
    detail: document.getElementById("task-detail"),
    progress: document.getElementById("task-progress"),
    best: document.getElementById("best"),
    stop: document.getElementById("stop-task"),
    metric: document.getElementById("plot-metric"),
    head: document.getElementById("executions-head"),
    body: document.getElementById("executions-body"),
    prev: document.getElementById("page-prev"),
    next: document.getElementById("page-next"),
    info: document.getElementById("page-info"),
    statusFilter: document.getElementById("exec-status"),
    plots: {
      history: document.getElementById("plot-history"),
      importance: document.getElementById("plot-importance"),
      parallel: document.getElementById("plot-parallel"),
      slices: document.getElementById("plot-slices"),
    },
  };

  // -- columns and the table ----------------------------------------------------------------

  function columns() {
    const target = task.configuration.optimization_target_metric;
    const metrics = (task.columns.metrics || []).slice();
    if (target) {
      const at = metrics.indexOf(target);
      if (at > 0) metrics.splice(at, 1);
      if (at !== 0) metrics.unshift(target);
    }
    const cols = [
      { key: "counter", label: "#", value: (e) => e.counter, link: true },
      { key: "status", label: "status", value: (e) => e.status, badge: true },
      { key: "duration", label: "duration", value: (e) => e.duration, duration: true },
    ];
    (task.columns.parameters || []).forEach((name) =>
      cols.push({ key: "parameters." + name, label: name, value: (e) => e.parameters[name], kind: "col-param" }));
    metrics.slice(0, 12).forEach((name) =>
      cols.push({ key: "metadata." + name, label: name, value: (e) => e.cumulative_metadata[name], kind: "col-metric" }));
    return cols;
  }

  let shownColumns = "";

  function renderHead(cols) {
    const signature = JSON.stringify(cols.map((c) => c.key));
    if (signature === shownColumns && nodes.head.childNodes.length) {
      updateSortMarks();
      return;
    }
    shownColumns = signature;
    clear(nodes.head);
    cols.forEach((col) => {
      const button = el("button", { type: "button", class: "sort", dataset: { key: col.key } }, col.label);
      button.addEventListener("click", () => {
        state.ordering = state.ordering === col.key ? "-" + col.key : (state.ordering === "-" + col.key ? col.key : "-" + col.key);
        state.offset = 0;
        refreshTable();
      });
      const numeric = col.duration || col.kind === "col-metric";
      nodes.head.appendChild(el("th", { class: (col.kind || "") + (numeric ? " num" : ""), dataset: { key: col.key } }, button));
    });
    updateSortMarks();
  }

  function updateSortMarks() {
    nodes.head.querySelectorAll("th").forEach((th) => {
      const key = th.dataset.key;
      let sort = "none";
      if (state.ordering === key) sort = "ascending";
      if (state.ordering === "-" + key) sort = "descending";
      th.setAttribute("aria-sort", sort);
    });
  }

  function cell(col, execution) {
    const value = col.value(execution);
    if (col.link) return el("td", null, el("a", { href: "/executions/" + value }, "#" + value));
    if (col.badge) return el("td", null, statusBadge(value));
    if (col.duration) return el("td", { class: "num" }, fmtDuration(value));
    const numeric = typeof value === "number";
    return el("td", { class: (numeric ? "num " : "") + (col.kind || "") }, fmt(value));
  }

  async function refreshTable() {
    const query = new URLSearchParams({
      task: task.id, ordering: state.ordering, limit: String(state.limit), offset: String(state.offset),
    });
    if (state.status) query.set("status", state.status);
    const data = await api("/api/v0/executions/?" + query.toString());
    const cols = columns();
    renderHead(cols);
    clear(nodes.body);
    if (!data.results.length) {
      nodes.body.appendChild(el("tr", { class: "empty" }, el("td", { colspan: cols.length }, "No executions yet.")));
    }
    data.results.forEach((execution) => {
      nodes.body.appendChild(el("tr", { dataset: { counter: execution.counter } }, cols.map((c) => cell(c, execution))));
    });
    const first = data.count ? state.offset + 1 : 0;
    nodes.info.textContent = first + "–" + Math.min(state.offset + state.limit, data.count) + " of " + data.count;
    nodes.prev.disabled = state.offset === 0;
    nodes.next.disabled = state.offset + state.limit >= data.count;
  }

  nodes.prev.addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - state.limit);
    refreshTable();
  });
  nodes.next.addEventListener("click", () => {
    state.offset += state.limit;
    refreshTable();
  });
  nodes.statusFilter.addEventListener("change", () => {
    state.status = nodes.statusFilter.value;
    state.offset = 0;
    refreshTable();
  });

  // -- summary ------------------------------------------------------------------------------

  function renderSummary() {
    clear(nodes.status).appendChild(statusBadge(task.status));
    nodes.detail.textContent = task.status_detail || "";
    nodes.detail.hidden = !task.status_detail;
    clear(nodes.progress).appendChild(progressBar(task.progress));
    nodes.stop.hidden = finalStatuses.has(task.status) || task.status === "stopping";
    clear(nodes.best);
    if (!task.best) {
      nodes.best.appendChild(el("p", { class: "muted" }, "No complete execution with " +
        (task.configuration.optimization_target_metric || "a target metric") + " yet."));
      return;
    }
    nodes.best.appendChild(el("p", { class: "best-line" },
      el("a", { href: "/executions/" + task.best.counter }, "#" + task.best.counter),
      " · " + task.best.metric + " = ", el("strong", null, fmt(task.best.value))));
    const table = el("table", { class: "kv" });
    Object.entries(task.best.parameters || {}).forEach(([name, value]) =>
      table.appendChild(el("tr", null, el("th", null, name), el("td", null, fmt(value)))));
    nodes.best.appendChild(table);
  }

  async function refreshTask() {
    task = await api("/api/v0/tasks/" + task.id + "/");
    renderSummary();
  }

  nodes.stop.addEventListener("click", async () => {
    nodes.stop.disabled = true;
    nodes.stop.textContent = "Stopping…";
    try {
      task = await api("/api/v0/tasks/" + task.id + "/stop/", { method: "POST" });
      renderSummary();
    } catch (e) {
      nodes.detail.hidden = false;
      nodes.detail.textContent = e.message;
    } finally {
      nodes.stop.disabled = false;
      nodes.stop.textContent = "Stop task";
    }
  });

  // -- plots --------------------------------------------------------------------------------

  async function refreshPlots() {
    const query = state.metric ? "?metric=" + encodeURIComponent(state.metric) : "";
    const data = await api("/api/v0/tasks/" + task.id + "/plots/" + query);
    const current = nodes.metric.value;
    clear(nodes.metric);
    const names = data.metrics.length ? data.metrics : (data.metric ? [data.metric] : []);
    names.forEach((name) => nodes.metric.appendChild(el("option", { value: name }, name)));
    nodes.metric.value = state.metric || data.metric || current || "";
    HSPlots.render(nodes.plots, data);
    const note = document.getElementById("plots-note");
    note.hidden = data.n >= data.n_total;
    note.textContent = "The plots show " + data.n + " of the " + data.n_total + " executions " +
      "(the 200 best and an even sample of the rest); the best-so-far line and the " +
      "parameter importance use all of them.";
  }

  nodes.metric.addEventListener("change", () => {
    state.metric = nodes.metric.value;
    refreshPlots();
  });

  // -- live ---------------------------------------------------------------------------------

  const refreshAll = throttled(async function () {
    await refreshTask();
    await Promise.all([refreshTable(), refreshPlots()]);
  }, 2000);

  renderSummary();
  refreshTable();
  refreshPlots();

  let source = null;
  function watch() {
    source = live("/api/v0/stream/?task=" + encodeURIComponent(task.id), {
      task(event) {
        task.status = event.status;
        task.status_detail = event.status_detail;
        task.progress = event.progress;
        renderSummary();
        refreshAll();
      },
      execution() {
        refreshAll();
      },
    });
  }
  watch();
  window.addEventListener("beforeunload", () => source && source.close());
})();
