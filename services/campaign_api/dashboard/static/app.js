// Fanout dashboard: the little script the server-rendered pages use (no dependencies).
// - the condition builder, kept in step with the condition's JSON, and the live count
// - a running campaign's progress, polled once a second
// - a lead import's upload progress and result
// - merge-variable hints inserted into a template's fields
// Everything a lead or the API supplied goes into the page as text (textContent), never
// as markup.
"use strict";

(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const number = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"));
  let uid = 0;
  const nextId = (stem) => `${stem}-${++uid}`;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
    }
    for (const c of children) if (c) node.append(c);
    return node;
  }

  function labelled(control, text) {
    // a visible-to-screen-readers label for every generated control
    control.id = control.id || nextId("ctl");
    const label = el("label", { for: control.id, class: "visually-hidden", text });
    return [label, control];
  }

  function select(options, value, text) {
    const s = el("select");
    for (const [v, t] of options) s.append(el("option", { value: v, text: t }));
    s.value = value;
    return labelled(s, text);
  }

  // ---- the condition builder ----------------------------------------------------------

  function Builder(root) {
    const vocab = JSON.parse(root.dataset.vocabulary);
    const textarea = document.getElementById(root.dataset.target);
    const output = document.getElementById("matched");
    const fields = new Map(vocab.fields.map((f) => [f.field, f]));
    const shapes = vocab.value_shapes;
    let timer = null;
    let asked = 0;

    const attributeSpec = (name) => ({
      field: name, kind: "attribute", nullable: true, json_types: [],
      ops: vocab.fields.find((f) => f.kind === "attribute")?.ops ||
        ["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "starts_with", "ends_with",
          "contains_text", "before", "after", "within_last", "exists"],
    });
    const specOf = (name) => fields.get(name) || (name.startsWith("attributes.") ? attributeSpec(name) : null);

    // JSON <-> tree. A group is {type: all|any|none, children}; a rule is {field, op, value}.
    function toTree(json) {
      if (json && typeof json === "object" && !Array.isArray(json)) {
        if (Array.isArray(json.all)) return group("all", json.all);
        if (Array.isArray(json.any)) return group("any", json.any);
        if (json.not && typeof json.not === "object") {
          if (Array.isArray(json.not.any)) return group("none", json.not.any);
          if ("field" in json.not) return group("none", [json.not]);
          return null;
        }
        if ("field" in json && specOf(String(json.field))) {
          return { field: String(json.field), op: json.op, value: json.value };
        }
      }
      return null;
    }
    function group(type, list) {
      const children = list.map(toTree);
      return children.every(Boolean) ? { type, children } : null;
    }
    function toJson(node) {
      if (!node.type) return { field: node.field, op: node.op, value: node.value };
      const list = node.children.map(toJson);
      if (node.type === "none") return { not: { any: list } };
      return { [node.type]: list };
    }

    let tree = null;

    function load() {
      let json = null;
      try {
        json = JSON.parse(textarea.value);
      } catch (e) {
        json = null;
      }
      const parsed = toTree(json);
      tree = parsed && parsed.type ? parsed : parsed ? { type: "all", children: [parsed] } : null;
      render();
    }

    function changed() {
      textarea.value = JSON.stringify(toJson(tree), null, 2);
      preview();
    }

    function defaultRule() {
      return { field: "email", op: "exists", value: true };
    }

    function render() {
      root.replaceChildren();
      if (!tree) {
        root.append(el("p", { class: "hint-text", text: "The builder cannot show this condition; edit its JSON below." }));
        return;
      }
      root.append(renderGroup(tree, null, 1));
    }

    function renderGroup(node, parent, depth) {
      const box = el("fieldset", { class: "group", "data-depth": depth });
      box.append(el("legend", { class: "visually-hidden", text: `Group at level ${depth}` }));
      const head = el("div", { class: "group-head" });
      const [label, type] = select(
        [["all", "All of these"], ["any", "Any of these"], ["none", "None of these"]],
        node.type, `Combine the conditions of the group at level ${depth}`);
      type.addEventListener("change", () => { node.type = type.value; changed(); });
      head.append(label, type);
      const addRule = el("button", { type: "button", class: "secondary", text: "Add condition" });
      addRule.addEventListener("click", () => { node.children.push(defaultRule()); render(); changed(); });
      const addGroup = el("button", { type: "button", class: "secondary", text: "Add group" });
      addGroup.addEventListener("click", () => {
        node.children.push({ type: "any", children: [defaultRule()] }); render(); changed();
      });
      head.append(addRule, addGroup);
      if (parent) head.append(removeButton(parent, node, "group"));
      box.append(head);
      node.children.forEach((child, i) => {
        box.append(child.type ? renderGroup(child, node, depth + 1) : renderRule(child, node, `${depth}.${i + 1}`));
      });
      return box;
    }

    function removeButton(parent, node, what) {
      const b = el("button", { type: "button", class: "link", text: `Remove ${what}` });
      b.addEventListener("click", () => {
        parent.children.splice(parent.children.indexOf(node), 1);
        if (!parent.children.length) parent.children.push(defaultRule());
        render(); changed();
      });
      return b;
    }

    function renderRule(rule, parent, where) {
      const row = el("div", { class: "rule", "data-rule": where });
      const known = [...fields.keys()].map((f) => [f, f]);
      const custom = !fields.has(rule.field);
      if (custom && rule.field !== "attributes.") known.push([rule.field, rule.field]);
      known.push(["attributes.", "other attribute…"]);
      const [fl, field] = select(known, rule.field, `Field of condition ${where}`);
      field.addEventListener("change", () => {
        rule.field = field.value;
        const spec = specOf(rule.field);
        if (!spec.ops.includes(rule.op)) { rule.op = spec.ops[0]; rule.value = initialValue(spec, rule.op); }
        render(); changed();
      });
      const keyControls = [];
      if (custom) {
        const key = el("input", { value: rule.field.slice("attributes.".length), placeholder: "key", class: "short" });
        const [kl, k] = labelled(key, `Attribute key of condition ${where}`);
        k.addEventListener("change", () => { rule.field = `attributes.${k.value.trim()}`; render(); changed(); });
        keyControls.push(kl, k);
      }
      const spec = specOf(rule.field);
      const [ol, op] = select(spec.ops.map((o) => [o, o.replace(/_/g, " ")]), rule.op, `Operator of condition ${where}`);
      op.addEventListener("change", () => {
        rule.op = op.value; rule.value = initialValue(spec, rule.op); render(); changed();
      });
      row.append(fl, field, ...keyControls, ol, op, ...valueControls(rule, spec, where), removeButton(parent, rule, "condition"));
      return row;
    }

    function attributeType(spec) {
      const t = spec.json_types || [];
      if (t.includes("number") && !t.includes("string")) return "number";
      if (t.includes("boolean") && t.length === 1) return "boolean";
      return "text";
    }

    function initialValue(spec, op) {
      if (shapes.boolean.includes(op)) return true;
      if (shapes.duration.includes(op)) return { days: 30 };
      if (shapes.list.includes(op)) return [];
      if (spec.kind === "attribute" && attributeType(spec) === "number") return 0;
      if (spec.kind === "attribute" && attributeType(spec) === "boolean") return true;
      return "";
    }

    function valueControls(rule, spec, where) {
      const text = `Value of condition ${where}`;
      if (shapes.boolean.includes(rule.op)) {
        const [l, s] = select([["true", "has a value"], ["false", "has no value"]], String(rule.value !== false), text);
        s.addEventListener("change", () => { rule.value = s.value === "true"; changed(); });
        return [l, s];
      }
      if (shapes.duration.includes(rule.op)) {
        const unit = Object.keys(rule.value || { days: 1 })[0] || "days";
        const amount = el("input", { type: "number", min: "1", step: "1", value: (rule.value || {})[unit] || 1, class: "short" });
        const [al, a] = labelled(amount, `${text}: amount`);
        const [ul, u] = select(shapes.duration_units.map((x) => [x, x]), unit, `${text}: unit`);
        const update = () => { rule.value = { [u.value]: Math.max(1, parseInt(a.value, 10) || 1) }; changed(); };
        a.addEventListener("input", update);
        u.addEventListener("change", update);
        return [al, a, ul, u];
      }
      const numeric = spec.kind === "attribute" &&
        (typeof rule.value === "number" || (Array.isArray(rule.value) && typeof rule.value[0] === "number") ||
          (rule.value === "" && attributeType(spec) === "number"));
      if (shapes.list.includes(rule.op)) {
        const shown = Array.isArray(rule.value) ? rule.value.join(", ") : "";
        const input = el("input", { value: shown, placeholder: "comma-separated" });
        const [l, i] = labelled(input, `${text} (comma-separated)`);
        i.addEventListener("input", () => {
          const items = i.value.split(",").map((x) => x.trim()).filter(Boolean);
          rule.value = numeric ? items.map(Number) : items;
          changed();
        });
        return [l, i];
      }
      if (spec.kind === "attribute" && typeof rule.value === "boolean") {
        const [l, s] = select([["true", "true"], ["false", "false"]], String(rule.value), text);
        s.addEventListener("change", () => { rule.value = s.value === "true"; changed(); });
        return [l, s];
      }
      const input = el("input", { value: rule.value === undefined ? "" : String(rule.value), type: numeric ? "number" : "text" });
      if (spec.kind === "date") input.placeholder = "2025-01-01";
      const [l, i] = labelled(input, text);
      i.addEventListener("input", () => { rule.value = numeric ? Number(i.value) : i.value; changed(); });
      return [l, i];
    }

    function preview() {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const ticket = ++asked;
        let condition;
        try {
          condition = JSON.parse(textarea.value);
        } catch (e) {
          output.textContent = "The condition is not valid JSON.";
          output.className = "matched problem";
          return;
        }
        output.textContent = "Counting…";
        try {
          const answer = await fetch(root.dataset.previewUrl, {
            method: "POST",
            headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
            body: JSON.stringify({ condition }),
            credentials: "same-origin",
          });
          const body = await answer.json();
          if (ticket !== asked) return; // a newer edit is being counted
          if (answer.ok) {
            const warn = (body.warnings || []).map((w) => w.msg || w.message || "").filter(Boolean);
            output.textContent = `${number(body.matched)} leads match` + (warn.length ? ` (${warn.join("; ")})` : "");
            output.className = "matched";
            output.dataset.matched = String(body.matched);
          } else {
            output.textContent = body.error || body.detail || `HTTP ${answer.status}`;
            output.className = "matched problem";
            delete output.dataset.matched;
          }
        } catch (e) {
          output.textContent = "Could not count the leads right now.";
          output.className = "matched problem";
        }
      }, 300);
    }

    textarea.addEventListener("input", () => { load(); preview(); });
    load();
    preview();
  }

  // ---- a campaign's live progress ----------------------------------------------------

  function Progress(panel) {
    const samples = []; // earlier readings {done, at}, for the rate
    const bar = document.getElementById("progress-bar");
    const state = document.getElementById("campaign-state");
    const show = (name, value) => {
      const node = panel.querySelector(`[data-field="${name}"]`);
      if (node) node.textContent = value;
    };

    async function poll() {
      const now = Date.now() / 1000;
      while (samples.length && samples[0].at < now - 10) samples.shift();
      const since = samples[0];
      const url = new URL(panel.dataset.url, window.location.href);
      if (since) {
        url.searchParams.set("since_done", since.done);
        url.searchParams.set("since_at", since.at);
      }
      let p;
      try {
        const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!answer.ok) throw new Error(String(answer.status));
        p = await answer.json();
      } catch (e) {
        setTimeout(poll, 2000);
        return;
      }
      samples.push({ done: p.done, at: p.at });
      show("state", p.state);
      show("matched", p.matched === null ? "resolving…" : number(p.matched));
      for (const k of ["resolved", "sent", "failed", "suppressed", "excluded"]) show(k, number(p[k]));
      show("percent", p.percent === null ? "— %" : `${p.percent} %`);
      show("rate", p.rate === null ? "—" : `${number(Math.round(p.rate))} leads/s`);
      show("eta", p.eta);
      if (bar) { bar.max = p.matched || 1; bar.value = p.done; bar.textContent = `${p.percent || 0} %`; }
      if (state) state.textContent = p.state;
      if (!p.running) {
        // it stopped running (completed, paused, cancelled, failed): its actions change
        window.location.reload();
        return;
      }
      setTimeout(poll, 1000);
    }
    if (panel.dataset.running === "true") setTimeout(poll, 500);
  }

  // ---- a lead import with its upload's progress ---------------------------------------

  function Import(form) {
    const bar = document.getElementById("import-progress");
    const status = document.getElementById("import-status");
    const result = document.getElementById("import-result");
    form.addEventListener("submit", (event) => {
      const file = form.querySelector('input[type="file"]').files[0];
      if (!file) return;
      event.preventDefault();
      const url = new URL(form.action, window.location.href);
      url.searchParams.set("on_conflict", form.querySelector("#on_conflict").value);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("Content-Type", "text/csv");
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.responseType = "json";
      bar.hidden = false;
      bar.value = 0;
      status.textContent = `Uploading ${file.name}…`;
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) {
          bar.value = Math.round((100 * e.loaded) / e.total);
          status.textContent = `Uploaded ${bar.value} %` + (bar.value === 100 ? ", importing…" : "");
        }
      });
      xhr.addEventListener("load", () => showResult(xhr.status, xhr.response || {}));
      xhr.addEventListener("error", () => { status.textContent = "The upload failed; try again."; });
      xhr.send(file);
    });

    function showResult(code, body) {
      bar.value = 100;
      result.hidden = false;
      result.replaceChildren(el("h2", { text: "Import result" }));
      if (code !== 200) {
        status.textContent = "Not imported.";
        result.append(el("p", { class: "problem", role: "alert", text: body.error || `HTTP ${code}` }));
        return;
      }
      status.textContent = "Imported.";
      result.append(el("p", {
        class: "summary",
        text: `${number(body.rows)} rows read: ${number(body.created)} created, ${number(body.updated)} updated, ` +
          `${number(body.skipped)} skipped, ${number(body.rejected)} rejected.`,
      }));
      if (body.rejected_rows && body.rejected_rows.length) {
        const table = el("table", { class: "rejected" }, el("caption", { text: "Rejected rows" }));
        table.append(el("thead", {}, el("tr", {}, el("th", { scope: "col", class: "num", text: "Line" }), el("th", { scope: "col", text: "Why" }))));
        const tbody = el("tbody");
        for (const r of body.rejected_rows) {
          tbody.append(el("tr", {}, el("td", { class: "num", text: String(r.line) }), el("td", { text: r.reason })));
        }
        table.append(tbody);
        result.append(table);
      }
    }
  }

  // ---- merge-variable hints ------------------------------------------------------------

  function Hints() {
    let target = document.querySelector("[data-merge-target]");
    document.querySelectorAll("[data-merge-target]").forEach((f) => f.addEventListener("focus", () => { target = f; }));
    document.querySelectorAll("button.hint").forEach((b) => b.addEventListener("click", () => {
      if (!target) return;
      const text = b.dataset.insert;
      const start = target.selectionStart ?? target.value.length;
      const end = target.selectionEnd ?? start;
      target.value = target.value.slice(0, start) + text + target.value.slice(end);
      target.focus();
      target.setSelectionRange(start + text.length, start + text.length);
    }));
  }

  document.addEventListener("DOMContentLoaded", () => {
    const builder = document.getElementById("builder");
    if (builder) Builder(builder);
    const progress = document.getElementById("progress");
    if (progress) Progress(progress);
    const importForm = document.getElementById("import-form");
    if (importForm) Import(importForm);
    if (document.querySelector("button.hint")) Hints();
  });
})();
