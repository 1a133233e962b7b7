/* hyperstep dashboard: helpers every page uses.
 *
 * Rule of this code base: data reaches the DOM only through textContent (el() below), never
 * through innerHTML, so text a program printed can never become markup or script.
 */
"use strict";

const HS = (function () {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function pageData() {
    const node = document.getElementById("page-data");
    if (!node) return {};
    try {
      return JSON.parse(node.textContent || "{}");
    } catch (e) {
      return {};
    }
  }

  /* el("td", {class: "x", title: t}, "text", otherNode) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === "class") node.className = value;
        else if (key === "dataset") Object.assign(node.dataset, value);
        else if (key.startsWith("on") && typeof value === "function") {
          node.addEventListener(key.slice(2), value);
        } else node.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (const child of children) append(node, child);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      child.forEach((c) => append(node, c));
    } else if (child instanceof Node) {
      node.appendChild(child);
    } else {
      node.appendChild(document.createTextNode(String(child)));
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.detail) || "request failed (" + status + ")");
      this.status = status;
      this.body = body;
    }
  }

  async function api(path, options) {
    const opts = options || {};
    const init = {
      method: opts.method || "GET",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    };
    if (init.method !== "GET") init.headers["X-CSRF-Token"] = csrf;
    if (opts.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    const response = await fetch(path, init);
    let body = null;
    const type = response.headers.get("content-type") || "";
    if (type.includes("application/json")) body = await response.json();
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  function fmt(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number") {
      if (Number.isInteger(value)) return String(value);
      const abs = Math.abs(value);
      if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
      return String(Number(value.toPrecision(6)));
    }
    if (typeof value === "boolean") return value ? "true" : "false";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 60) return seconds.toFixed(1) + " s";
    const m = Math.floor(seconds / 60);
    if (m < 60) return m + " min " + Math.round(seconds % 60) + " s";
    return Math.floor(m / 60) + " h " + (m % 60) + " min";
  }

  function debounce(fn, wait) {
    let timer = null;
    return function (...args) {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        fn(...args);
      }, wait);
    };
  }

  /* A refresh that never runs twice at once and at most every `wait` ms. */
  function throttled(fn, wait) {
    let running = false;
    let again = false;
    let last = 0;
    async function run() {
      if (running) {
        again = true;
        return;
      }
      const delay = Math.max(0, last + wait - Date.now());
      if (delay > 0) {
        running = true;
        await new Promise((r) => setTimeout(r, delay));
        running = false;
      }
      running = true;
      last = Date.now();
      try {
        await fn();
      } catch (e) {
        console.warn("refresh failed", e);
      } finally {
        running = false;
      }
      if (again) {
        again = false;
        run();
      }
    }
    return run;
  }

  /* Server-sent events with handlers per event name; shows the "live" badge while open. */
  function live(url, handlers) {
    if (!window.EventSource) return null;
    const badge = document.getElementById("live");
    const source = new EventSource(url);
    source.addEventListener("open", () => {
      if (badge) badge.hidden = false;
    });
    source.addEventListener("error", () => {
      if (badge) badge.hidden = true;
    });
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => {
        let data = null;
        try {
          data = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        handler(data);
      });
    }
    return source;
  }

  function statusBadge(status) {
    return el("span", { class: "badge status-" + status }, status);
  }

  function progressBar(p) {
    const total = p.total || 0;
    const share = total ? Math.min(100, (100 * p.done) / total) : 0;
    const done = el("span", { class: "done" });
    done.style.width = share.toFixed(1) + "%";
    const text = el("span", { class: "progress-text" }, p.done + " / " + total);
    if (p.running) text.appendChild(document.createTextNode(" · " + p.running + " running"));
    if (p.failed) {
      text.appendChild(document.createTextNode(" · "));
      text.appendChild(el("span", { class: "failed" }, p.failed + " failed"));
    }
    return el(
      "div",
      {
        class: "progress",
        title: p.done + " of " + total + " done, " + p.running + " running, " + p.failed + " failed",
      },
      el("div", { class: "bar" }, done),
      text
    );
  }

  return {
    api,
    append,
    clear,
    csrf,
    debounce,
    el,
    fmt,
    fmtDuration,
    live,
    pageData,
    progressBar,
    statusBadge,
    throttled,
    ApiError,
  };
})();
