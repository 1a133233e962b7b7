/* The Tasks tab: rows update live (status, progress, best) from the event stream. */
"use strict";

(function () {
  const { api, clear, el, fmt, live, pageData, progressBar, statusBadge, throttled } = HS;
  const page = pageData();
  const body = document.getElementById("tasks-body");
  if (!body) return;

  function shortTime(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function bestCell(task) {
    if (!task.best) return el("span", { class: "muted" }, "–");
    return [
      task.best.metric + " = " + fmt(task.best.value) + " ",
      el("a", { href: "/executions/" + task.best.counter }, "#" + task.best.counter),
    ];
  }

  function row(task) {
    return el(
      "tr",
      { dataset: { task: task.id } },
      el("td", null, el("a", { href: "/tasks/" + task.counter }, "!" + task.counter), " ",
        el("span", { class: "name" }, task.name || "")),
      el("td", null, task.type.replace(/_/g, " ")),
      el("td", null, task.step),
      el("td", { class: "status-cell" }, statusBadge(task.status)),
      el("td", { class: "progress-cell" }, progressBar(task.progress)),
      el("td", { class: "best-cell" }, bestCell(task)),
      el("td", { class: "time" }, shortTime(task.ctime))
    );
  }

  const refresh = throttled(async function () {
    const query = new URLSearchParams({ limit: String(page.limit || 100), ordering: "-counter" });
    if (page.status) query.set("status", page.status);
    const data = await api("/api/v0/tasks/?" + query.toString());
    clear(body);
    if (!data.results.length) {
      body.appendChild(el("tr", { class: "empty" }, el("td", { colspan: 7 }, "No tasks yet.")));
      return;
    }
    data.results.forEach((task) => body.appendChild(row(task)));
  }, 1500);

  live("/api/v0/stream/", {
    task(event) {
      const tr = body.querySelector('tr[data-task="' + CSS.escape(event.id) + '"]');
      if (!tr) {
        refresh();
        return;
      }
      clear(tr.querySelector(".status-cell")).appendChild(statusBadge(event.status));
      clear(tr.querySelector(".progress-cell")).appendChild(progressBar(event.progress));
      refresh(); // the best metric may have changed too
    },
  });
})();
