/* Create Task: step → type → settings → a distribution per parameter → create.
 *
 * The form builds Valohai's task payload as the user types and asks the server to validate it
 * (POST /api/v0/tasks/validate/): each problem comes back with the payload field it belongs
 * to, and is shown next to the input carrying that field in its data-field attribute.
 */
"use strict";

(function () {
  const { api, clear, debounce, el, pageData } = HS;
  const page = pageData();
  const steps = page.steps || [];
  const blueprints = page.blueprints || [];
  const form = document.getElementById("task-form");
  if (!form) return;

  const $ = (id) => document.getElementById(id);
  const nodes = {
    step: $("f-step"), title: $("f-title"), count: $("f-count"), batch: $("f-batch"),
    queued: $("f-queued"), metric: $("f-metric"), target: $("f-target"),
    direction: $("f-direction"), engine: $("f-engine"), stop: $("f-stop"),
    onError: $("f-on-error"), seed: $("f-seed"), sets: $("f-sets"), setsField: $("sets-field"),
    rows: $("param-rows"), hint: $("param-hint"), preview: $("preview-count"),
    errors: $("form-errors"), notes: $("preview-notes"), yaml: $("yaml"),
    showYaml: $("show-yaml"), create: $("create-task"), blueprint: $("f-blueprint"),
    loadBlueprint: $("load-blueprint"), startBlueprint: $("start-blueprint"),
    blueprintError: $("blueprint-error"),
  };

  // Distributions, the inputs each shows, and their labels per task type.
  const INPUTS = {
    single: ["value"],
    uniform: ["min", "max", "step"],
    loguniform: ["min", "max", "step"],
    integer: ["min", "max", "step"],
    categorical: ["items"],
    linear: ["start", "end", "step"],
    logspace: ["start", "end", "count", "base"],
  };
  const LABELS = {
    bayesian_tpe: { single: "Fixed", uniform: "Uniform", loguniform: "Log uniform", integer: "Integer",
                    categorical: "Categorical", linear: "Linear (ordered)", logspace: "Logspace (ordered)" },
    random_search: { single: "Fixed", uniform: "Uniform", loguniform: "Log uniform", integer: "Integer",
                     categorical: "Categorical", linear: "Linear (ordered)", logspace: "Logspace (ordered)" },
    grid_search: { single: "Single", categorical: "Multiple", linear: "Linear", logspace: "Logspace",
                   uniform: "Random: uniform", loguniform: "Random: log uniform", integer: "Random: integer" },
    manual_search: { single: "Fixed" },
  };
  const HINTS = {
    bayesian_tpe: "Pick a distribution for each parameter to optimise; the others keep their defaults. " +
      "Log uniform min and max are exponents of 10 (−5 means 0.00001). Q.Step rounds values to min + k·step.",
    random_search: "Each execution draws every parameter from its distribution; the others keep their defaults.",
    grid_search: "Give each parameter its values; the task runs every combination.",
    manual_search: "One execution per parameter set; parameters not in the sets keep the value below (or their default).",
  };
  const FIELD_LABELS = { value: "value", min: "min", max: "max", step: "Q.Step", count: "count",
                         items: "values, comma-separated", start: "start", end: "end", base: "base" };

  function taskType() {
    const checked = form.querySelector('input[name="type"]:checked');
    return checked ? checked.value : "bayesian_tpe";
  }

  function currentStep() {
    return steps.find((s) => s.name === nodes.step.value) || steps[0];
  }

  // -- parameter rows -----------------------------------------------------------------------

  function describe(param) {
    const bits = [param.type];
    if (param.default !== null && param.default !== undefined) bits.push("default " + HS.fmt(param.default));
    if (param.min !== null || param.max !== null) bits.push("range " + HS.fmt(param.min) + " … " + HS.fmt(param.max));
    if (param.choices) bits.push("choices " + param.choices.map(HS.fmt).join(", "));
    return bits.join(" · ");
  }

  function buildRows() {
    clear(nodes.rows);
    const step = currentStep();
    if (!step) return;
    step.parameters.forEach((param) => {
      const base = "parameters." + param.name;
      const select = el("select", { class: "dist", "aria-label": "distribution of " + param.name,
                                    dataset: { field: base + ".style" } });
      const values = el("td", { class: "values", dataset: { field: base + ".rules" } });
      ["value", "min", "max", "step", "count", "items", "start", "end", "base"].forEach((name) => {
        const input = el("input", { type: "text", class: "in-" + name, dataset: { input: name },
                                    "aria-label": param.name + " " + name });
        if (name === "value") input.placeholder = param.default === null || param.default === undefined ? "" : HS.fmt(param.default);
        if (name === "min" && param.min !== null) input.value = String(param.min);
        if (name === "max" && param.max !== null) input.value = String(param.max);
        if (name === "items" && param.choices) input.value = param.choices.join(", ");
        const label = el("label", { class: "mini", dataset: { field: base + ".rules." + name, part: name } },
          el("span", { class: "mini-label" }, FIELD_LABELS[name]), input);
        values.appendChild(label);
      });
      values.appendChild(el("span", { class: "log-hint muted" }));
      const row = el("tr", { dataset: { param: param.name, field: base } },
        el("td", { class: "param-name" }, el("strong", null, param.name),
          el("div", { class: "muted small" }, describe(param)),
          param.description ? el("div", { class: "muted small" }, param.description) : null),
        el("td", null, select),
        values);
      nodes.rows.appendChild(row);
    });
    refreshRows();
  }

  function refreshRows() {
    const type = taskType();
    const labels = LABELS[type];
    nodes.rows.querySelectorAll("tr[data-param]").forEach((row) => {
      const select = row.querySelector("select.dist");
      const current = select.value || "single";
      clear(select);
      Object.entries(labels).forEach(([value, label]) => select.appendChild(el("option", { value }, label)));
      select.value = labels[current] ? current : "single";
      showInputs(row);
    });
    form.querySelectorAll("[data-types]").forEach((node) => {
      node.hidden = !node.dataset.types.split(" ").includes(type);
    });
    nodes.setsField.hidden = type !== "manual_search";
    nodes.hint.textContent = HINTS[type];
  }

  function showInputs(row) {
    const dist = row.querySelector("select.dist").value;
    const grid = taskType() === "grid_search";
    const shown = INPUTS[dist].slice();
    if (grid && ["uniform", "loguniform", "integer"].includes(dist)) shown.push("count");
    row.querySelectorAll("label.mini").forEach((label) => {
      label.hidden = !shown.includes(label.dataset.part);
      if (label.dataset.part === "step") {
        label.querySelector(".mini-label").textContent = dist === "linear" ? "step" : "Q.Step";
      }
    });
    const hint = row.querySelector(".log-hint");
    hint.textContent = "";
    if (dist === "loguniform") {
      const lo = Number(row.querySelector(".in-min").value);
      const hi = Number(row.querySelector(".in-max").value);
      if (isFinite(lo) && isFinite(hi) && row.querySelector(".in-min").value !== "") {
        hint.textContent = "= " + Math.pow(10, lo).toPrecision(3) + " … " + Math.pow(10, hi).toPrecision(3);
      }
    }
  }

  // -- the payload --------------------------------------------------------------------------

  function number(text) {
    const t = String(text).trim();
    if (t === "") return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : t; // the server names the field when it is not a number
  }

  function typed(text, param) {
    const t = String(text).trim();
    if (param.type === "flag") return t === "true" ? true : (t === "false" ? false : t);
    if (param.type === "integer" || param.type === "float") return number(t);
    return t;
  }

  function setIf(target, key, value) {
    if (value !== undefined && value !== "") target[key] = value;
  }

  function variant(row, param) {
    const dist = row.querySelector("select.dist").value;
    const get = (name) => row.querySelector(".in-" + name).value;
    const rules = {};
    if (dist === "single") {
      if (get("value").trim() === "") return null;
      return { style: "single", rules: { value: typed(get("value"), param) } };
    }
    if (dist === "categorical") {
      const items = get("items").split(/[,\n]/).map((s) => s.trim()).filter((s) => s !== "");
      return { style: "multiple", rules: { items: items.map((s) => typed(s, param)) } };
    }
    if (dist === "linear") {
      setIf(rules, "start", number(get("start")));
      setIf(rules, "end", number(get("end")));
      setIf(rules, "step", number(get("step")));
      return { style: "linear", rules };
    }
    if (dist === "logspace") {
      setIf(rules, "start", number(get("start")));
      setIf(rules, "end", number(get("end")));
      setIf(rules, "count", number(get("count")));
      setIf(rules, "base", number(get("base")));
      return { style: "logspace", rules };
    }
    rules.distribution = dist;
    setIf(rules, "min", number(get("min")));
    setIf(rules, "max", number(get("max")));
    setIf(rules, "step", number(get("step")));
    if (taskType() === "grid_search") setIf(rules, "count", number(get("count")));
    return { style: "random", rules };
  }

  let clientErrors = [];

  function payload() {
    clientErrors = [];
    const type = taskType();
    const data = { step: nodes.step.value, type, parameters: {}, configuration: {} };
    setIf(data, "title", nodes.title.value.trim());
    const step = currentStep();
    nodes.rows.querySelectorAll("tr[data-param]").forEach((row) => {
      const param = step.parameters.find((p) => p.name === row.dataset.param);
      const v = variant(row, param);
      if (v) data.parameters[param.name] = v;
    });
    const conf = data.configuration;
    if (type === "random_search" || type === "bayesian_tpe") setIf(conf, "execution_count", number(nodes.count.value));
    setIf(conf, "execution_batch_size", number(nodes.batch.value));
    if (type === "bayesian_tpe") setIf(conf, "engine", nodes.engine.value);
    setIf(conf, "optimization_target_metric", nodes.metric.value.trim());
    setIf(conf, "optimization_target_value", number(nodes.target.value));
    setIf(data, "direction", nodes.direction.value);
    setIf(data, "maximum_queued_executions", number(nodes.queued.value));
    setIf(data, "task_stop_expression", nodes.stop.value.trim());
    setIf(data, "on_child_error", nodes.onError.value);
    setIf(data, "seed", number(nodes.seed.value));
    if (type === "manual_search") {
      const sets = [];
      nodes.sets.value.split("\n").forEach((line, i) => {
        if (!line.trim()) return;
        try {
          sets.push(JSON.parse(line));
        } catch (e) {
          clientErrors.push({ field: "parameter_sets." + sets.length, message: "line " + (i + 1) + " is not a JSON object" });
        }
      });
      data.parameter_sets = sets;
    }
    return data;
  }

  // -- validation ---------------------------------------------------------------------------

  function fieldElement(field) {
    if (!field) return null;
    const all = Array.from(form.querySelectorAll("[data-field]")).filter((n) => !n.closest("[hidden]"));
    let best = null;
    all.forEach((node) => {
      const f = node.dataset.field;
      if ((field === f || field.startsWith(f + ".")) && (!best || f.length > best.dataset.field.length)) best = node;
    });
    return best;
  }

  function showErrors(errors) {
    form.querySelectorAll(".field-error.inline").forEach((n) => n.remove());
    form.querySelectorAll(".invalid").forEach((n) => n.classList.remove("invalid"));
    clear(nodes.errors);
    nodes.errors.hidden = !errors.length;
    errors.forEach((error) => {
      const target = fieldElement(error.field);
      if (target) {
        target.classList.add("invalid");
        const host = target.tagName === "TR" ? target.querySelector("td.values") || target : target;
        host.appendChild(el("span", { class: "field-error inline" }, error.message));
      }
      nodes.errors.appendChild(el("li", null, error.field ? el("code", null, error.field) : null,
                                  error.field ? " " : null, error.message));
    });
  }

  let latestYaml = null;
  let sequence = 0;

  function showResult(result) {
    const errors = clientErrors.concat(result.errors || []);
    showErrors(errors);
    clear(nodes.notes);
    (result.notes || []).forEach((n) => nodes.notes.appendChild(el("li", null, n)));
    latestYaml = result.blueprint || null;
    if (!nodes.yaml.hidden) nodes.yaml.textContent = latestYaml || "(fix the errors to see the blueprint)";
    const type = taskType();
    if (errors.length || !result.valid) {
      nodes.preview.textContent = "Fix the highlighted fields to create the task.";
      nodes.preview.className = "preview bad";
      nodes.create.disabled = true;
      return;
    }
    const n = result.count;
    nodes.preview.textContent = type === "grid_search" || type === "manual_search"
      ? "Will create a total of " + n + " execution" + (n === 1 ? "" : "s") + "."
      : "Will run up to " + n + " execution" + (n === 1 ? "" : "s") + ".";
    nodes.preview.className = "preview good";
    nodes.create.disabled = false;
  }

  async function validate() {
    const mine = ++sequence;
    const data = payload();
    try {
      const result = await api("/api/v0/tasks/validate/", { method: "POST", body: data });
      if (mine === sequence) showResult(result);
    } catch (e) {
      if (mine === sequence) showResult({ valid: false, errors: [{ field: null, message: e.message }] });
    }
  }

  const validateSoon = debounce(validate, 300);

  // -- blueprints ---------------------------------------------------------------------------

  function distOf(style, rules) {
    if (style === "multiple") return "categorical";
    if (style === "random") {
      const d = String(rules.distribution || "uniform").toLowerCase().replace(/[-_]/g, "");
      return d === "int" ? "integer" : (["uniform", "loguniform", "integer"].includes(d) ? d : "uniform");
    }
    return ["single", "linear", "logspace"].includes(style) ? style : "single";
  }

  function fill(p) {
    nodes.step.value = p.step;
    buildRows();
    const radio = form.querySelector('input[name="type"][value="' + p.type + '"]');
    if (radio) radio.checked = true;
    refreshRows();
    const conf = p.configuration || {};
    const text = (v) => (v === undefined || v === null ? "" : String(v));
    nodes.title.value = text(p.title);
    nodes.count.value = text(conf.execution_count);
    nodes.batch.value = text(conf.execution_batch_size);
    nodes.queued.value = text(p.maximum_queued_executions);
    nodes.metric.value = text(conf.optimization_target_metric);
    nodes.target.value = text(conf.optimization_target_value);
    nodes.engine.value = text(conf.engine);
    nodes.direction.value = text(p.direction);
    nodes.stop.value = text(p.task_stop_expression);
    nodes.onError.value = (p.on_child_error || "continue_and_error").replace(/-/g, "_");
    nodes.seed.value = text(p.seed);
    nodes.sets.value = (p.parameter_sets || []).map((s) => JSON.stringify(s)).join("\n");
    Object.entries(p.parameters || {}).forEach(([name, v]) => {
      const row = nodes.rows.querySelector('tr[data-param="' + CSS.escape(name) + '"]');
      if (!row) return;
      const rules = v.rules || {};
      row.querySelector("select.dist").value = distOf(v.style, rules);
      const set = (input, value) => {
        if (value !== undefined && value !== null) row.querySelector(".in-" + input).value = String(value);
      };
      set("value", rules.value);
      ["min", "max", "step", "count", "start", "end", "base"].forEach((k) => set(k, rules[k]));
      if (rules.items) row.querySelector(".in-items").value = rules.items.join(", ");
      showInputs(row);
    });
    validate();
  }

  function chosenBlueprint() {
    const name = nodes.blueprint ? nodes.blueprint.value : "";
    return blueprints.find((b) => b.name === name) || null;
  }

  function blueprintProblem(message) {
    nodes.blueprintError.hidden = !message;
    nodes.blueprintError.textContent = message || "";
  }

  if (nodes.loadBlueprint) {
    nodes.loadBlueprint.addEventListener("click", () => {
      const b = chosenBlueprint();
      if (!b) return blueprintProblem("Choose a blueprint first.");
      if (!b.payload) return blueprintProblem(b.error);
      blueprintProblem(null);
      fill(b.payload);
    });
    nodes.startBlueprint.addEventListener("click", async () => {
      const b = chosenBlueprint();
      if (!b) return blueprintProblem("Choose a blueprint first.");
      if (!b.payload) return blueprintProblem(b.error);
      try {
        const task = await api("/api/v0/tasks/", { method: "POST", body: b.payload });
        window.location.assign("/tasks/" + task.counter);
      } catch (e) {
        blueprintProblem(e.message);
      }
    });
  }

  // -- events -------------------------------------------------------------------------------

  nodes.step.addEventListener("change", () => {
    buildRows();
    validate();
  });
  form.querySelectorAll('input[name="type"]').forEach((radio) =>
    radio.addEventListener("change", () => {
      refreshRows();
      validate();
    }));
  form.addEventListener("input", (event) => {
    const row = event.target.closest("tr[data-param]");
    if (row) showInputs(row);
    validateSoon();
  });
  form.addEventListener("change", (event) => {
    const row = event.target.closest("tr[data-param]");
    if (row && event.target.matches("select.dist")) showInputs(row);
    validateSoon();
  });
  nodes.showYaml.addEventListener("click", () => {
    nodes.yaml.hidden = !nodes.yaml.hidden;
    nodes.showYaml.textContent = nodes.yaml.hidden ? "Show as YAML blueprint" : "Hide YAML";
    nodes.yaml.textContent = latestYaml || "(fix the errors to see the blueprint)";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = payload();
    if (clientErrors.length) return showResult({ valid: false, errors: [] });
    nodes.create.disabled = true;
    try {
      const task = await api("/api/v0/tasks/", { method: "POST", body: data });
      window.location.assign("/tasks/" + task.counter);
    } catch (e) {
      nodes.create.disabled = false;
      showResult({ valid: false, errors: (e.body && e.body.errors) || [{ field: null, message: e.message }] });
    }
  });

  buildRows();
  const preset = blueprints.find((b) => b.name === page.blueprint && b.payload);
  if (preset) {
    nodes.blueprint.value = preset.name;
    fill(preset.payload);
  } else {
    validate();
  }
})();
