// c360 agent panel, the CRM of the interaction on screen (GET /v1/desktop/crms): a selector
// when the tenant has several CRMs (the routing default marked; a change posts the
// `choose_crm` action), and "Connect <CRM>" for a CRM the agent has not signed in to
// (per-agent OAuth: GET /v1/desktop/crm/{crm}/connect gives the URL opened in a popup).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const R = window.C360Render;
  const h = R.h;
  const name = (crm) => window.C360Search.sourceName(crm);
  let seq = 0;
  let connectMissing = false;  // the deployment has no per-agent sign-in (the route 404s)

  // The CRM activities of the interaction on screen go to (null: no CRM configured).
  function current(state) {
    const c = state.crms;
    if (!c || !Array.isArray(c.crms) || !c.crms.length) return null;
    return c.chosen || c.default || c.crms[0];
  }

  async function load(state, deps) {
    const mine = ++seq;
    const params = new URLSearchParams();
    if (state.pop) params.set("interaction_id", state.pop.interaction_id);
    let r;
    try { r = await deps.api("/v1/desktop/crms?" + params.toString()); } catch (_e) { r = { status: 0 }; }
    if (mine !== seq) return;
    const menu = r.status === 200 && r.body ? r.body : { crms: [], default: null, chosen: null };
    // Who is connected comes with the menu, or from the per-agent sign-in route itself.
    if (!menu.connected || !Object.keys(menu.connected).length) {
      let c;
      try { c = await deps.api("/v1/desktop/crm/connections"); } catch (_e) { c = { status: 0 }; }
      if (mine !== seq) return;
      menu.connected = c.status === 200 && c.body && c.body.connected ? c.body.connected : {};
    }
    state.crms = menu;
    render(state, deps);
  }

  function render(state, deps) {
    const c = state.crms;
    const crms = c && Array.isArray(c.crms) ? c.crms : [];
    const chosen = current(state);
    const connected = (c && c.connected) || {};
    const parts = [];
    if (crms.length > 1 && state.pop) {
      parts.push(h("label", { for: "crm-select" }, "Log to CRM"),
        h("select", { id: "crm-select", name: "crm", onchange: (ev) => choose(state, deps, ev.currentTarget) },
          crms.map((crm) => h("option", { value: crm, selected: crm === chosen },
            name(crm) + (crm === c.default ? " (default)" : "")))));
    } else if (crms.length === 1) {
      parts.push(h("p", { class: "muted crm-one" }, "Logged to " + name(crms[0]) + "."));
    }
    // connected[crm] === false: per-agent sign-in exists and this agent has not done it.
    const unconnected = connectMissing ? [] : [...new Set([...crms, ...Object.keys(connected)])]
      .filter((crm) => connected[crm] === false);
    if (unconnected.length) {
      parts.push(h("p", { class: "connect" }, unconnected.map((crm) => h("button", { type: "button", class: "link-button",
        "data-crm": crm, onclick: () => connect(state, deps, crm) }, "Connect " + name(crm)))));
    }
    R.fill("crm-choice", parts);
  }

  async function choose(state, deps, select) {
    const crm = select.value;
    const before = current(state);
    select.disabled = true;
    const r = await deps.act("choose_crm", { crm });
    select.disabled = false;
    if (r.status === 202) {
      state.crms = Object.assign({}, state.crms, { chosen: crm });
      deps.notice("Activities of this interaction go to " + name(crm) + ".");
    } else {
      select.value = before;
      deps.notice("The CRM was not changed: " + ((r.body && r.body.detail) || "service unavailable") + ".");
    }
  }

  async function connect(state, deps, crm) {
    // Opened at the click (a popup blocker allows that), pointed at the CRM once known.
    const popup = window.open("about:blank", "c360-crm-connect", "popup,width=520,height=680");
    let r;
    try { r = await deps.api("/v1/desktop/crm/" + encodeURIComponent(crm) + "/connect"); } catch (_e) { r = { status: 0 }; }
    if (r.status === 404) {
      if (popup) popup.close();
      connectMissing = true;  // no per-agent sign-in here: the tenant's credentials are used
      render(state, deps);
      return;
    }
    if (r.status !== 200 || !r.body || !/^https?:\/\//.test(r.body.authorize_url || "")) {
      if (popup) popup.close();
      deps.notice("Cannot connect to " + name(crm) + " now" + (r.body && r.body.detail ? " (" + r.body.detail + ")" : "") + ".");
      return;
    }
    if (!popup) { deps.notice("Allow popups for this page to connect to " + name(crm) + "."); return; }
    popup.location.href = r.body.authorize_url;
    deps.notice("Sign in to " + name(crm) + " in the window that opened.");
    // When the agent closes it (the callback page says done), ask again who is connected.
    const watch = setInterval(() => { if (popup.closed) { clearInterval(watch); load(state, deps); } }, 1000);
  }

  window.C360Crm = { load, render, current };
})();
