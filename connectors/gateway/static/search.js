// c360 agent panel, contact search: the "Find a contact" box (GET /v1/desktop/search) over
// the profile directory and the tenant's CRMs. Picking a c360 result relinks the interaction
// on screen to it; picking a CRM result links it through POST /v1/desktop/link-crm-contact
// (which finds or creates the c360 profile holding that CRM id). Text only, never HTML.
"use strict";

(function () {
  const MIN_LENGTH = 2;
  const DEBOUNCE_MS = 300;
  const $ = (id) => document.getElementById(id);
  const R = window.C360Render;
  const h = R.h;
  let seq = 0;  // the answer of an older query never replaces a newer one
  let timer = null;
  let lastQuery = "";
  let listed = null;  // {results, errors} on screen, redrawn when the pop changes

  // "hubspot" -> "HubSpot": the CRM's own spelling where known.
  const CRM_NAMES = { hubspot: "HubSpot", salesforce: "Salesforce", zendesk: "Zendesk", zoho: "Zoho",
    dynamics365: "Dynamics 365", webhook: "Webhook CRM", c360: "c360" };
  const sourceName = (s) => CRM_NAMES[s] || s;

  function status(text) { $("search-status").textContent = text; }

  function clear() {
    clearTimeout(timer);
    seq += 1;
    lastQuery = "";
    listed = null;
    $("search-results").replaceChildren();
    $("search-errors").replaceChildren();
    status("");
  }

  async function run(state, deps, q) {
    clearTimeout(timer);
    if (q.length < MIN_LENGTH) {
      clear();
      status(q ? "Type at least " + MIN_LENGTH + " characters." : "");
      return;
    }
    if (q === lastQuery) return;
    lastQuery = q;
    const mine = ++seq;
    const params = new URLSearchParams({ q });
    if (state.pop) params.set("interaction_id", state.pop.interaction_id);
    status("Searching…");
    let r;
    try { r = await deps.api("/v1/desktop/search?" + params.toString()); } catch (_e) { r = { status: 0 }; }
    if (mine !== seq) return;
    if (r.status === 401) { deps.signedOut("Your session expired; sign in again."); return; }
    if (r.status !== 200 || !r.body) {
      clear();
      status(r.status === 400 ? "Cannot search for that" + detailOf(r) + "."
        : "Search is not available right now" + detailOf(r) + ". Try again.");
      return;
    }
    show(state, deps, r.body.results || [], r.body.errors || []);
  }

  function detailOf(r) {
    const d = r.body && (r.body.detail || r.body.message);
    return d ? " (" + d + ")" : "";
  }

  function show(state, deps, results, errors) {
    listed = { results, errors };
    status(results.length ? results.length + (results.length === 1 ? " contact found." : " contacts found.")
      : "No contact found.");
    $("search-results").replaceChildren(...results.map((res) => row(state, deps, res)));
    // A CRM that failed is a notice: the other sources' results still stand.
    $("search-errors").replaceChildren(...errors.map((e) => h("span", { class: "search-error" },
      sourceName(e.source) + " could not be searched: " + messageOf(e) + ". ")));
  }

  // "hubspot: HTTP 503" from the hubspot source reads "HTTP 503" after "HubSpot …: ".
  function messageOf(e) {
    const m = String(e.message || "error");
    return e.source && m.startsWith(e.source + ": ") ? m.slice(e.source.length + 2) : m;
  }

  function row(state, deps, res) {
    const name = res.display_name || (res.phones || [])[0] || (res.emails || [])[0] || res.crm_id || res.profile_id || "Unnamed contact";
    const contact = [...(res.phones || []), ...(res.emails || [])].join(" · ");
    const source = res.source || "c360";
    return h("li", { class: "result", "data-source": source },
      h("div", { class: "result-who" },
        h("span", { class: "badge src src-" + (source === "c360" ? "c360" : "crm") }, sourceName(source)),
        " ", h("strong", {}, name),
        contact ? h("span", { class: "muted contact" }, contact) : null),
      h("div", { class: "result-actions" },
        /^https?:\/\//.test(res.record_url || "") ? h("a", { href: res.record_url, target: "_blank", rel: "noopener",
          "aria-label": "Open " + name + " in " + sourceName(source) }, "Record") : null,
        state.pop ? h("button", { type: "button", class: "pick", "aria-label": "Link " + name + " (" + sourceName(source) + ")",
          onclick: (ev) => pick(state, deps, res, name, ev.currentTarget) }, "Link") : null));
  }

  async function pick(state, deps, res, name, button) {
    if (!state.pop) return;
    button.disabled = true;
    let ok;
    if ((res.source || "c360") === "c360" && res.profile_id) {
      ok = await R.choose(state, deps, "relink", { profile_id: res.profile_id, display_name: res.display_name || name });
    } else {
      ok = await linkCrm(state, deps, res, name);
    }
    button.disabled = false;
    if (ok) { clear(); $("search-q").value = ""; $("caller").focus(); }
  }

  async function linkCrm(state, deps, res, name) {
    const iid = state.pop.interaction_id;
    const body = { interaction_id: iid, crm: res.crm || res.source, crm_id: res.crm_id,
      display_name: res.display_name, phones: res.phones || [], emails: res.emails || [] };
    let r;
    try { r = await deps.api("/v1/desktop/link-crm-contact", { method: "POST", json: body }); } catch (_e) { r = { status: 0 }; }
    if (![200, 201, 202].includes(r.status) || !r.body || !r.body.profile_id) {
      deps.notice("Could not link " + name + detailOf(r) + ".");
      return false;
    }
    R.linked(state, deps, iid, r.body.profile_id, res.display_name || name);
    deps.notice("Linked to " + name + " from " + sourceName(res.crm || res.source) + ".");
    return true;
  }

  // Where the box sits: under the caller while a pop is on screen, else under "Waiting".
  function place(state, deps) {
    const box = $("search");
    box.hidden = !state.me;
    const anchor = state.pop ? $("caller") : $("idle");
    if (anchor.nextElementSibling !== box) anchor.after(box);  // moving it would drop the focus
    // Link buttons depend on whether an interaction is on screen: redraw what is listed.
    if (listed && deps) show(state, deps, listed.results, listed.errors);
  }

  function focus() {
    $("search").hidden = false;
    $("search-q").focus();
  }

  function wire(state, deps) {
    const input = $("search-q");
    input.addEventListener("input", () => {
      clearTimeout(timer);
      const q = input.value.trim();
      timer = setTimeout(() => run(state, deps, q), DEBOUNCE_MS);
    });
    $("search-form").addEventListener("submit", (ev) => {  // Enter searches at once
      ev.preventDefault();
      lastQuery = "";
      run(state, deps, input.value.trim());
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") { input.value = ""; clear(); }
    });
  }

  window.C360Search = { wire, place, focus, clear, sourceName };
})();
