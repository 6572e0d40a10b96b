// The questionnaire form's script (inline in the page; PGX_FORM is defined just above).
// Checks every answer with the rules and the wording of `pgx-report validate-questionnaire`,
// builds the JSON exactly as Save writes it, and opens a saved questionnaire to edit.
// It never loads anything: the page's Content-Security-Policy forbids it anyway.
"use strict";
(function () {
  const M = PGX_FORM;
  const form = document.getElementById("pgx-form");
  const byPath = new Map(M.fields.map((f) => [f.path, f]));
  const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
  const NUMBER_RE = /^-?\d+([.,]\d+)?$/;
  const MAX_SHOWN = 40;

  function control(path) {
    return form.elements.namedItem(path);
  }

  // ------------------------------------------------------------------ reading the form
  function valueOf(f) {
    if (f.kind === "const") return f.const;
    const raw = control(f.path).value;
    if (raw === "") return undefined;
    if (f.kind === "boolean") return raw === "true";
    if ((f.kind === "integer" || f.kind === "number") && NUMBER_RE.test(raw)) {
      return Number(raw.replace(",", "."));
    }
    return raw; // text, date, choice; a number field's unreadable text stays text
  }

  function topKey(path) {
    const dot = path.indexOf(".");
    return dot < 0 ? null : path.slice(0, dot);
  }

  function buildObject() {
    const out = {};
    for (const f of M.fields) {
      const top = topKey(f.path);
      if (top !== null && M.requiredObjects.includes(top) && !(top in out)) out[top] = {};
      const value = valueOf(f);
      if (value === undefined) continue;
      if (top === null) {
        out[f.path] = value;
      } else {
        if (!(top in out)) out[top] = {};
        out[top][f.path.slice(top.length + 1)] = value;
      }
    }
    return out;
  }

  function get(obj, path) {
    let node = obj;
    for (const part of path.split(".")) {
      if (node === null || typeof node !== "object" || !(part in node)) return undefined;
      node = node[part];
    }
    return node;
  }

  // ------------------------------------------------------------------ checking (as the CLI)
  function shown(value) {
    const text = JSON.stringify(value);
    return text.length <= MAX_SHOWN ? text : text.slice(0, MAX_SHOWN - 3) + "...";
  }

  function typeName(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return "a list";
    if (typeof value === "boolean") return "a boolean";
    if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a number";
    if (typeof value === "string") return "a string";
    return "an object";
  }

  function typeOk(f, value) {
    if (value === null) return f.nullable;
    switch (f.kind) {
      case "integer": return typeof value === "number" && Number.isInteger(value);
      case "number": return typeof value === "number";
      case "boolean": return typeof value === "boolean";
      case "const": return true;
      default: return typeof value === "string";
    }
  }

  function realDate(text) {
    if (!DATE_RE.test(text)) return false;
    const [y, m, d] = text.split("-").map(Number);
    if (y < 1 || m < 1 || m > 12 || d < 1) return false;
    const days = new Date(Date.UTC(2000, m, 0)).getUTCDate(); // days in month m (leap year)
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    return d <= (m === 2 && !leap ? 28 : days);
  }

  function fieldProblems(f, value) {
    const at = "$." + f.path;
    const out = [];
    if (value === undefined) {
      if (f.required) out.push([at, `required but missing (allowed: ${f.allowed})`]);
      return out;
    }
    if (!typeOk(f, value)) {
      const what = value === null ? "" : `${shown(value)} is `;
      out.push([at, `${what}${typeName(value)}, wrong type (allowed: ${f.allowed})`]);
    }
    if (typeof value === "number") {
      if (f.minimum !== null && value < f.minimum) {
        out.push([at, `${shown(value)} is below the minimum (allowed: ${f.allowed})`]);
      }
      if (f.maximum !== null && value > f.maximum) {
        out.push([at, `${shown(value)} is above the maximum (allowed: ${f.allowed})`]);
      }
    }
    if (f.kind === "const" && value !== f.const) {
      out.push([at, `${shown(value)} is not allowed (allowed: ${f.allowed})`]);
    }
    if (f.kind === "choice" && typeof value === "string" && !f.options.includes(value)) {
      out.push([at, `${shown(value)} is not allowed (allowed: ${f.allowed})`]);
    }
    if (typeof value === "string" && f.kind === "date" && !realDate(value)) {
      out.push([at, `${shown(value)} is not a valid date (allowed: YYYY-MM-DD)`]);
    }
    if (typeof value === "string" && f.kind === "text") {
      // The character rule of contracts/text.py (its printable pattern, one character at a time).
      const chars = [...value];
      const printable = new RegExp(f.printable, "u");
      const bad = chars.findIndex((c) => !printable.test(c));
      if (bad >= 0) {
        const code = chars[bad].codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
        const name = M.refusedNames[code] ? ` ${M.refusedNames[code]}` : "";
        out.push([at, `character ${bad + 1} is U+${code}${name}, a control or format character ` +
          "(allowed: printable text on one line, no tabs or line breaks)"]);
        return out;
      }
      if (f.maxLength !== null && chars.length > f.maxLength) {
        out.push([at, `${chars.length} characters is too long (allowed: at most ` +
          `${f.maxLength} characters)`]);
        return out;
      }
      const short = f.minLength !== null && [...value].length < f.minLength;
      const unmatched = f.pattern !== null && !new RegExp(f.pattern, "u").test(value);
      if (short || unmatched) {
        out.push([at, `${shown(value)} is not allowed (allowed: non-empty text without ` +
          "leading or trailing spaces)"]);
      }
    }
    return out;
  }

  // Cross-field checks the schema cannot express (clinical/questionnaire.py: _semantic_problems).
  function semanticProblems(obj) {
    const out = [];
    const born = get(obj, "patient.birth_date");
    const on = get(obj, "completed_on");
    if (born && on && born > on) {
      out.push(["$.patient.birth_date",
        `${born} is after completed_on ${on} (allowed: a date on or before completed_on)`]);
    }
    const cigarettes = get(obj, "smoking.cigarettes_per_day");
    if (get(obj, "smoking.status") === "never" && (cigarettes || 0) > 0) {
      out.push(["$.smoking.cigarettes_per_day", `${cigarettes} contradicts status "never" ` +
        '(allowed: 0 or null when status is "never")']);
    }
    return out;
  }

  function problemsOf(obj) {
    let problems = [];
    for (const f of M.fields) problems.push(...fieldProblems(f, get(obj, f.path)));
    if (problems.length === 0) problems = semanticProblems(obj);
    const seen = new Set();
    const unique = problems.filter(([at, what]) => {
      const key = at + "\u0000" + what;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return unique.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  }

  // ------------------------------------------------------------------ showing the problems
  function format(text, values) {
    return text.replace(/\{(\w+)\}/g, (_, key) => String(values[key]));
  }

  function inputsOf(f) {
    const item = control(f.path);
    return item instanceof RadioNodeList ? Array.from(item) : [item];
  }

  function show(problems) {
    const byField = new Map();
    for (const [at, what] of problems) {
      const path = at.replace(/^\$\.?/, "");
      if (!byField.has(path)) byField.set(path, []);
      byField.get(path).push(what);
    }
    for (const f of M.fields) {
      if (f.kind === "const") continue;
      const messages = byField.get(f.path) || [];
      document.getElementById(f.id + "-error").textContent = messages.join("; ");
      document.getElementById(f.id + "-field").classList.toggle("invalid", messages.length > 0);
      for (const input of inputsOf(f)) {
        if (messages.length > 0) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    }
    const list = document.getElementById("pgx-problem-list");
    list.replaceChildren();
    for (const [at, what] of problems) {
      const f = byPath.get(at.replace(/^\$\.?/, ""));
      const item = document.createElement("li");
      const link = document.createElement(f ? "a" : "span");
      if (f) link.href = "#" + (f.kind === "choice" || f.kind === "boolean" ? f.id + "-field" : f.id);
      link.textContent = `${at}: ${what}`;
      item.append(link);
      list.append(item);
    }
    const heading = document.getElementById("pgx-problems-heading");
    heading.textContent = problems.length === 0 ? M.ui.problems_none
      : format(M.ui.problems_some, { n: problems.length });
    document.getElementById("pgx-problems").classList.toggle("has-problems", problems.length > 0);
    document.getElementById("pgx-count").textContent = problems.length === 0 ? ""
      : format(M.ui.problems_count, { n: problems.length });
    for (const id of ["pgx-save", "pgx-save-fhir"]) {
      document.getElementById(id).disabled = problems.length > 0;
    }
  }

  function update() {
    const problems = problemsOf(buildObject());
    show(problems);
    return problems;
  }

  // ------------------------------------------------------------------ saving
  function jsonText(obj) {
    return JSON.stringify(obj, null, 2) + "\n";
  }

  const VALUE_KEYS = {
    integer: "valueInteger", number: "valueDecimal", boolean: "valueBoolean",
    choice: "valueCoding", date: "valueDate", text: "valueString", const: "valueString",
  };

  // A FHIR R4 QuestionnaireResponse: one item per answer, linkId = the JSON path,
  // grouped by the top-level key (the FHIR Questionnaire in pgx_report/data).
  function fhirOf(obj) {
    const items = [];
    const groups = new Map();
    for (const f of M.fields) {
      const value = get(obj, f.path);
      if (value === undefined) continue;
      const key = VALUE_KEYS[f.kind];
      const item = { linkId: f.path, answer: [{ [key]: f.kind === "choice" ? { code: value } : value }] };
      const top = topKey(f.path);
      if (top === null) {
        items.push(item);
        continue;
      }
      if (!groups.has(top)) {
        const group = { linkId: top, item: [] };
        groups.set(top, group);
        items.push(group);
      }
      groups.get(top).item.push(item);
    }
    return {
      resourceType: "QuestionnaireResponse",
      questionnaire: M.fhirQuestionnaire,
      status: "completed",
      item: items,
    };
  }

  function fileStem(obj) {
    const id = typeof obj.sample_id === "string" ? obj.sample_id : "questionnaire";
    return id.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
  }

  function download(name, text, type) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    status(format(M.ui.saved, { file: name }));
  }

  function save(fhir) {
    const obj = buildObject();
    if (update().length > 0) return;
    if (fhir) {
      download(fileStem(obj) + ".questionnaire.fhir.json", jsonText(fhirOf(obj)), "application/fhir+json");
    } else {
      download(fileStem(obj) + ".questionnaire.json", jsonText(obj), "application/json");
    }
  }

  function status(text) {
    document.getElementById("pgx-status").textContent = text;
  }

  // ------------------------------------------------------------------ opening
  function answerValue(answer) {
    if (answer.valueCoding) return answer.valueCoding.code;
    if (answer.valueQuantity) return answer.valueQuantity.value;
    if (typeof answer.valueDateTime === "string") return answer.valueDateTime.slice(0, 10);
    const keys = Object.keys(answer).filter((key) => key.startsWith("value"));
    if (keys.length !== 1) throw new Error("an answer needs exactly one value[x]");
    return answer[keys[0]];
  }

  function nativeFromFhir(resource) {
    if (resource.resourceType !== "QuestionnaireResponse") {
      throw new Error(`${shown(resource.resourceType)} is not a QuestionnaireResponse`);
    }
    const out = {};
    const walk = (items) => {
      for (const item of items || []) {
        if (item.item && !item.answer) {
          walk(item.item);
          continue;
        }
        if (!byPath.has(item.linkId)) throw new Error(`unknown linkId ${shown(item.linkId)}`);
        if (!item.answer || item.answer.length === 0) continue;
        const top = topKey(item.linkId);
        const value = answerValue(item.answer[0]);
        if (top === null) out[item.linkId] = value;
        else (out[top] = out[top] || {})[item.linkId.slice(top.length + 1)] = value;
      }
    };
    walk(resource.item);
    if (!("completed_on" in out) && typeof resource.authored === "string") {
      out.completed_on = resource.authored.slice(0, 10);
    }
    return out;
  }

  function representable(f, value) {
    if (value === null) return true;
    switch (f.kind) {
      case "const": return value === f.const;
      case "boolean": return typeof value === "boolean";
      case "choice": return f.options.includes(value);
      case "integer": case "number": return typeof value === "number";
      default: return typeof value === "string" && !/[\r\n]/.test(value);
    }
  }

  // Every answer of a questionnaire object as path -> value; throws on what the form cannot show.
  function answersOf(obj) {
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
      throw new Error("not a JSON object");
    }
    const answers = new Map();
    const groups = new Set(M.fields.map((f) => topKey(f.path)).filter((key) => key !== null));
    for (const [key, value] of Object.entries(obj)) {
      if (groups.has(key) && value !== null && typeof value === "object" && !Array.isArray(value)) {
        for (const [child, inner] of Object.entries(value)) answers.set(`${key}.${child}`, inner);
      } else {
        answers.set(key, value);
      }
    }
    for (const [path, value] of answers) {
      const f = byPath.get(path);
      if (!f) throw new Error(`$.${path}: unknown key`);
      if (!representable(f, value)) throw new Error(`$.${path}: ${shown(value)} cannot be shown in the form`);
    }
    return answers;
  }

  function fill(answers) {
    for (const f of M.fields) {
      if (f.kind === "const") continue;
      const value = answers.has(f.path) ? answers.get(f.path) : null;
      const item = control(f.path);
      const wanted = value === null ? "" : String(value);
      if (item instanceof RadioNodeList) {
        for (const radio of item) radio.checked = radio.value === wanted;
      } else {
        item.value = wanted;
      }
    }
    update();
  }

  function openText(text) {
    let obj = JSON.parse(text);
    if (obj !== null && typeof obj === "object" && "resourceType" in obj) obj = nativeFromFhir(obj);
    fill(answersOf(obj));
  }

  function onOpen(event) {
    const file = event.target.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      try {
        openText(String(reader.result));
        status(format(M.ui.opened, { file: file.name }));
      } catch (err) {
        status(format(M.ui.open_failed, { file: file.name, why: err.message }));
      }
      event.target.value = "";
    };
    reader.readAsText(file, "utf-8");
  }

  // ------------------------------------------------------------------ score helpers
  function setUpHelper(details) {
    const path = details.dataset.for;
    const selects = Array.from(details.querySelectorAll("select[data-helper-item]"));
    const output = details.querySelector("output");
    const use = details.querySelector("button[data-helper-use]");
    const sum = () => {
      const complete = selects.every((s) => s.value !== "");
      const total = selects.reduce((acc, s) => acc + (s.value === "" ? 0 : Number(s.value)), 0);
      output.textContent = complete ? String(total) : "–";
      use.disabled = !complete;
      return total;
    };
    for (const s of selects) s.addEventListener("change", sum);
    use.addEventListener("click", () => {
      control(path).value = String(sum());
      update();
      control(path).focus();
    });
    sum();
  }

  // ------------------------------------------------------------------ wiring
  form.addEventListener("input", (event) => {
    if (!event.target.dataset || event.target.dataset.helperItem === undefined) update();
  });
  form.addEventListener("change", update);
  form.addEventListener("submit", (event) => event.preventDefault());
  document.getElementById("pgx-save").addEventListener("click", () => save(false));
  document.getElementById("pgx-save-fhir").addEventListener("click", () => save(true));
  document.getElementById("pgx-print").addEventListener("click", () => window.print());
  document.getElementById("pgx-open").addEventListener("change", onOpen);
  document.querySelectorAll("details.helper").forEach(setUpHelper);

  window.pgxQuestionnaireJSON = () => jsonText(buildObject());
  window.pgxQuestionnaireFHIR = () => jsonText(fhirOf(buildObject()));
  window.pgxQuestionnaireProblems = () => problemsOf(buildObject());
  window.pgxOpenQuestionnaire = openText;
  update();
})();
