// c360 agent panel, profile forms in one modal dialog: "Create profile" for a caller no
// profile matches (the fields of GET /v1/desktop/profile-form, POST /v1/desktop/profiles,
// prefilled with the caller's identifier) and
// "Edit" of the profile on screen (GET/PATCH /v1/desktop/profiles/{id}, only the fields the
// tenant's layout marks editable). Problems (400/422) are shown next to their field.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const R = window.C360Render;
  const h = R.h;
  let submit = null;  // what Save does for the form on screen
  let fields = [];  // the fields the form on screen shows

  // ---- inputs by type ---------------------------------------------------------------------
  const INPUT_TYPES = { number: "number", date: "date", email: "email", phone: "tel", url: "url" };
  const choiceOf = (c) => (c !== null && typeof c === "object" ? { value: String(c.value), label: c.label || String(c.value) } : { value: String(c), label: String(c) });
  const idOf = (f) => "pf-" + f.name;

  function input(f) {
    const id = idOf(f), common = { id, name: f.name, "aria-describedby": id + "-err", "aria-required": f.required ? "true" : null };
    if (f.type === "boolean") {
      return h("input", Object.assign(common, { type: "checkbox", checked: f.value === true || f.value === "true" }));
    }
    if (Array.isArray(f.choices) && f.choices.length) {
      const current = f.value === null || f.value === undefined ? "" : String(f.value);
      return h("select", common, h("option", { value: "" }, f.required ? "Choose…" : "(not set)"),
        f.choices.map(choiceOf).map((c) => h("option", { value: c.value, selected: c.value === current }, c.label)));
    }
    const value = Array.isArray(f.value) ? f.value.join(", ") : f.value === null || f.value === undefined ? "" : String(f.value);
    const extra = f.type === "number" ? { step: "any" } : {};
    return h("input", Object.assign(common, extra, { type: INPUT_TYPES[f.type] || "text", value, autocomplete: "off" }));
  }

  function row(f) {
    const label = (f.label || f.name) + (f.required ? " (required)" : "") + (f.type === "list" ? " (comma-separated)" : "");
    const el = input(f);
    const err = h("p", { id: idOf(f) + "-err", class: "error field-error" });
    el.addEventListener("input", () => { err.textContent = ""; });  // a corrected field is clear
    if (f.type === "boolean") return h("div", { class: "field" }, h("label", { class: "choice", for: idOf(f) }, el, " ", label), err);
    return h("div", { class: "field" }, h("label", { for: idOf(f) }, label), el, err);
  }

  // The JSON value of a field's input, typed as the profile view types it.
  function valueOf(f) {
    const el = $(idOf(f));
    if (f.type === "boolean") return el.checked;
    const raw = el.value.trim();
    if (raw === "") return null;
    if (f.type === "number" && !(Array.isArray(f.choices) && f.choices.length)) return Number(raw);
    if (f.type === "list") return raw.split(",").map((x) => x.trim()).filter(Boolean);
    return raw;
  }
  // Whether the input still holds the field's value (an unset boolean is an unticked box).
  const unchanged = (f) => (f.type === "boolean" ? valueOf(f) === (f.value === true || f.value === "true")
    : JSON.stringify(valueOf(f)) === JSON.stringify(f.value ?? null));

  // ---- problems -----------------------------------------------------------------------------
  // A problem is "name: message" (core.profile_schema) or {field|name, message}; "phones[0]",
  // "attributes.tier" and the like are shown at the field they are about.
  function showProblems(body, fallback) {
    for (const p of document.querySelectorAll("#profile-fields .field-error")) p.textContent = "";
    const general = [];
    const problems = (body && Array.isArray(body.problems)) ? body.problems : [];
    for (const p of problems) {
      let key = null, text = String(p);
      if (p && typeof p === "object") { key = p.field || p.name || null; text = p.message || p.detail || JSON.stringify(p); }
      else { const i = text.indexOf(": "); if (i > 0) { key = text.slice(0, i); text = text.slice(i + 2); } }
      const name = key ? key.replace(/^attributes\./, "").replace(/\[\d+\]$/, "") : null;
      const el = name && fields.some((f) => f.name === name) ? $(idOf({ name }) + "-err") : null;
      if (el) el.textContent = el.textContent ? el.textContent + " " + text : text;
      else general.push(key ? key + ": " + text : text);
    }
    const detail = body && (body.detail || body.message || body.error);
    $("profile-msg").textContent = general.length ? general.join("; ")
      : problems.length ? "Correct the fields marked above." : fallback + (detail ? " (" + detail + ")" : "") + ".";
    const first = document.querySelector("#profile-fields .field-error:not(:empty)");
    if (first) $(first.id.replace(/-err$/, "")).focus();
  }

  function open(title, saveLabel, list, extra, onSave) {
    fields = list;
    submit = onSave;
    $("profile-h").textContent = title;
    $("profile-save").textContent = saveLabel;
    $("profile-save").disabled = false;
    $("profile-msg").textContent = "";
    R.fill("profile-fields", list.map(row), extra);
    const dialog = $("profile-dialog");
    if (!dialog.open) dialog.showModal();
    const first = $("profile-fields").querySelector("input, select");
    if (first) first.focus();
  }

  // Whether a required field is empty (then its problem shows under it); `filled`: the
  // fields with the values their inputs hold.
  function lacksRequired(filled) {
    const missing = filled.filter((f) => f.required && f.value === null);
    if (missing.length) {
      showProblems({ problems: missing.map((f) => f.name + ": " + (f.name === "display_name" ? "enter the customer's name" : "required")) }, "");
    }
    return missing.length > 0;
  }

  // A create or PATCH body from fields with their new value: the built-ins at the top level
  // (phones and emails as lists), the rest are the tenant's attributes (null clears one).
  function bodyOf(filled) {
    const body = {};
    for (const f of filled) {
      if (f.name === "display_name") body.display_name = f.value;
      else if (f.name === "phones" || f.name === "emails") body[f.name] = f.value === null ? [] : [].concat(f.value);
      else (body.attributes = body.attributes || {})[f.name] = f.value;
    }
    return body;
  }

  // ---- create -------------------------------------------------------------------------------
  const BUILTINS = ["display_name", "phones", "emails"];
  // A server without GET /v1/desktop/profile-form: name, phone and email only.
  const BASIC_FORM = [
    { name: "display_name", label: "Name", type: "text" },
    { name: "phones", label: "Phone", type: "phone" },
    { name: "emails", label: "Email", type: "email" },
  ];

  async function openCreate(state, deps) {
    if (!state.pop || !state.view) return;
    const party = state.view.party || {};
    const iid = state.pop.interaction_id;
    const form = await send("/v1/desktop/profile-form", "GET", undefined, deps);
    if (form.status === 401) return;
    const described = form.status === 200 && form.body && Array.isArray(form.body.fields)
      ? form.body.fields.filter((f) => f && f.name) : BASIC_FORM;
    const prefill = { phones: party.kind === "phone" ? party.value : null, emails: party.kind === "email" ? party.value : null };
    // The panel names every profile it creates; the tenant's schema says which attributes
    // are required.
    const list = described.map((f) => Object.assign({}, f, { required: Boolean(f.required) || f.name === "display_name", value: prefill[f.name] ?? null }));
    const crm = window.C360Crm.current(state);
    // One id per dialog: a submit retried after a lost answer creates one profile, not two.
    const attempt = Array.from(crypto.getRandomValues(new Uint8Array(16)),
      (b) => b.toString(16).padStart(2, "0")).join("");
    const extra = crm ? h("label", { class: "choice", for: "pf-create-in-crm" },
      h("input", { type: "checkbox", id: "pf-create-in-crm", name: "create_in_crm" }),
      " Also create the contact in " + window.C360Search.sourceName(crm)) : null;
    open("Create a profile for this caller", "Create", list, extra, async () => {
      const filled = list.map((f) => Object.assign({}, f, { value: valueOf(f) }));
      if (lacksRequired(filled)) return;
      // Attributes left empty (an optional box unticked) are not sent.
      const given = filled.filter((f) => BUILTINS.includes(f.name) || (f.value !== null && (f.value !== false || f.required)));
      const inCrm = Boolean(crm && $("pf-create-in-crm").checked);
      const body = Object.assign({ interaction_id: iid, phones: [], emails: [], attributes: {} }, bodyOf(given),
        { create_in_crm: inCrm, client_action_id: attempt });
      if (inCrm) body.crm = crm;
      const r = await send("/v1/desktop/profiles", "POST", body, deps);
      if (r.status !== 201 && r.status !== 200) { showProblems(r.body, "The profile was not created"); return; }
      close();
      const name = body.display_name;
      R.linked(state, deps, iid, r.body.profile_id, name);
      const crmName = inCrm ? window.C360Search.sourceName(crm) : "";
      const crmPart = !inCrm ? "" : r.body.crm_id ? " (" + crmName + " contact " + r.body.crm_id + ")"
        : "; the " + crmName + " contact was not created" + (r.body.crm_error ? " (" + r.body.crm_error + ")" : "");
      deps.notice("Profile created for " + name + crmPart + ".");
    });
  }

  // ---- edit ---------------------------------------------------------------------------------
  async function openEdit(state, deps, profileId) {
    const path = "/v1/desktop/profiles/" + encodeURIComponent(profileId);
    const r = await send(path, "GET", undefined, deps);
    if (r.status !== 200 || !r.body) { deps.notice("The profile cannot be edited now (" + (r.status || "no answer") + ")."); return; }
    const list = (r.body.editable || []).filter((f) => f && f.name);
    if (!list.length) { deps.notice("No field of this profile is editable."); return; }
    open("Edit " + (r.body.display_name || profileId), "Save", list, null, async () => {
      const changed = list.filter((f) => !unchanged(f)).map((f) => Object.assign({}, f, { value: valueOf(f) }));
      if (lacksRequired(changed)) return;
      if (!changed.length) { close(); deps.notice("Nothing changed."); return; }
      const saved = await send(path, "PATCH", bodyOf(changed), deps);
      if (saved.status !== 200 && saved.status !== 202 && saved.status !== 204) { showProblems(saved.body, "Not saved"); return; }
      close();
      showSaved(state, profileId, changed);
      deps.render();
      deps.notice("Profile saved.");
    });
  }

  // The pop on screen shows the new values (`changed`: the fields with their new value)
  // until the next pop re-renders the profile.
  function showSaved(state, profileId, changed) {
    const p = state.view && state.view.profile;
    if (!p || p.profile_id !== profileId) return;
    p.fields = p.fields || [];
    for (const f of changed) {
      const value = f.value;
      if (f.name === "display_name") p.display_name = value;
      const shown = p.fields.find((x) => x.name === f.name);
      if (value === null) p.fields = p.fields.filter((x) => x.name !== f.name);
      else if (shown) shown.value = value;
      else p.fields.push({ name: f.name, label: f.label || f.name, type: f.type, value });
    }
  }

  async function send(path, method, json, deps) {
    let r;
    $("profile-save").disabled = true;
    try { r = await deps.api(path, json === undefined ? { method } : { method, json }); } catch (_e) { r = { status: 0, body: null }; }
    $("profile-save").disabled = false;
    if (r.status === 401) { close(); deps.signedOut("Your session expired; sign in again."); }
    return r;
  }

  function close() { const d = $("profile-dialog"); if (d.open) d.close(); }

  function wire() {
    $("profile-cancel").addEventListener("click", close);
    $("profile-form").addEventListener("submit", (ev) => { ev.preventDefault(); if (submit) submit(); });
  }

  window.C360ProfileForm = { wire, openCreate, openEdit };
})();
