// c360 agent panel: plain JS, no build step. Data is only ever put in the page as text
// (textContent / attributes), never as HTML, so a customer's name or note cannot inject markup.
"use strict";

(function () {
  const TOKEN_KEY = "c360.desktop.token";
  const $ = (id) => document.getElementById(id);
  const state = {
    token: null, me: null, es: null, backoff: 1000, retryTimer: null,
    pop: null, view: null, chosen: null, filter: "all",
    earlier: false,  // the pop on screen is an earlier call, not ringing now
    aged: false,  // it came in live and has since passed the freshness window
    freshMs: 120000,  // the gateway's freshness window (/v1/desktop/me fresh_seconds)
    candidates: [],  // every match seen for the interaction on screen
    crms: null,  // GET /v1/desktop/crms for the interaction on screen (crm.js)
    received: [],  // interaction ids of the pops this panel was sent (newest last)
    recent: [],  // latest pop per recent interaction, newest first (recent.js)
  };

  const R = window.C360Render;
  const Recent = window.C360Recent;
  const Search = window.C360Search;
  const Crm = window.C360Crm;
  const h = R.h;
  const channelName = R.channelName;
  function uuid() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const x = Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
    return x.slice(0, 8) + "-" + x.slice(8, 12) + "-" + x.slice(12, 16) + "-" + x.slice(16, 20) + "-" + x.slice(20);
  }
  function notice(text) { $("notice").textContent = text; }
  function setConn(kind, text) {
    document.body.dataset.conn = kind;
    $("conn").textContent = text;
    $("conn").className = "conn conn-" + kind;
  }

  // ---- API ------------------------------------------------------------------------------
  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    if (state.token) opts.headers.Authorization = "Bearer " + state.token;
    if (opts.json !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
    }
    const resp = await fetch(path, opts);
    let body = null;
    try { body = await resp.json(); } catch (_e) { body = null; }
    return { status: resp.status, body };
  }

  // One id per submission: a retried POST (network error) publishes the same event.
  async function act(action, fields) {
    const pop = state.pop;
    if (!pop) return { status: 0 };
    const payload = Object.assign({ action, interaction_id: pop.interaction_id, client_action_id: uuid() }, fields);
    let last = { status: 0 };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        last = await api("/v1/desktop/actions", { method: "POST", json: payload });
      } catch (_e) { last = { status: 0 }; }
      if (last.status !== 0 && last.status !== 503) break;
      await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
    }
    if (last.status === 401) signedOut("Your session expired; sign in again.");
    return last;
  }

  // ---- session --------------------------------------------------------------------------
  const lastKey = () => "c360.desktop.last." + state.me.tenant + ":" + state.me.agent;
  // The pops on screen survive a reload (the stream resumes after them, so they are not
  // re-sent): {current: interaction id, recent: [...]}.
  const popKey = () => "c360.desktop.pop." + state.me.tenant + ":" + state.me.agent;
  function save() {
    if (!state.me) return;
    const current = state.pop ? state.pop.interaction_id : null;
    sessionStorage.setItem(popKey(), JSON.stringify({ current, recent: state.recent }));
  }
  function restore() {
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(popKey()) || "null"); } catch (_e) { saved = null; }
    if (!saved || !Array.isArray(saved.recent)) return;
    state.recent = saved.recent;
    const entry = saved.recent.find((e) => e.interaction_id === saved.current) || saved.recent[0];
    if (entry) show(entry.data);
  }

  async function start() {
    const frag = new URLSearchParams(location.hash.slice(1));
    if (frag.get("token")) {
      sessionStorage.setItem(TOKEN_KEY, frag.get("token"));
      history.replaceState(null, "", location.pathname + location.search);
    }
    state.token = sessionStorage.getItem(TOKEN_KEY);
    if (!state.token) return showLogin();
    let me;
    try { me = await api("/v1/desktop/me"); } catch (_e) { me = { status: 0 }; }
    if (me.status === 401) return signedOut("Your session is no longer valid; sign in again.");
    if (me.status !== 200) { setConn("offline", "Service unavailable, retrying"); return retryLater(start); }
    state.me = me.body;
    if (typeof me.body.fresh_seconds === "number") state.freshMs = me.body.fresh_seconds * 1000;
    $("who").textContent = state.me.agent + " · " + state.me.tenant;
    $("logout").hidden = false;
    $("login").hidden = true;
    if (!state.pop) restore();
    if (!state.pop) $("idle").hidden = false;
    Search.place(state, deps);
    connect();
  }

  function retryLater(fn) {
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(fn, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 30000);
  }

  function connect() {
    if (state.es) state.es.close();
    const params = new URLSearchParams({ token: state.token });
    const last = sessionStorage.getItem(lastKey());
    if (last) params.set("last_event_id", last);
    setConn("connecting", "Connecting");
    const es = new EventSource("/v1/desktop/stream?" + params.toString());
    state.es = es;
    es.addEventListener("open", () => { state.backoff = 1000; setConn("live", "Live"); });
    es.addEventListener("pop", (ev) => onPop(ev, false));
    es.addEventListener("history", (ev) => onPop(ev, true));
    es.addEventListener("gap", () => notice("Some earlier pops were no longer available."));
    es.addEventListener("expired", () => signedOut("Your session expired; sign in again."));
    es.addEventListener("error", () => {
      if (es.readyState === EventSource.CLOSED) {
        // Refused (401, 503): the browser gives up; check the session, then reconnect.
        setConn("reconnecting", "Reconnecting");
        es.close();
        retryLater(start);
      } else {
        setConn("reconnecting", "Reconnecting");
      }
    });
  }

  function signedOut(message, forget) {
    if (state.es) state.es.close();
    if (forget && state.me) { sessionStorage.removeItem(lastKey()); sessionStorage.removeItem(popKey()); }
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null; state.me = null; state.pop = null; state.view = null; state.received = [];
    state.earlier = false;
    state.recent = [];
    state.crms = null;
    Recent.render(state, deps);
    Search.clear();
    Search.place(state, deps);
    showLogin(message);
  }

  async function showLogin(message) {
    setConn("offline", "Signed out");
    $("panel").hidden = true; $("idle").hidden = true; $("logout").hidden = true;
    $("who").textContent = "";
    $("login").hidden = false;
    $("login-msg").textContent = message || "";
    let agents = { status: 404 };
    try { agents = await api("/v1/desktop/dev/agents"); } catch (_e) { /* prod: no dev login */ }
    if (agents.status === 200) {
      $("dev-login").hidden = false;
      $("login-tenant").value = agents.body.tenant;
      if (!$("login-agent").value) $("login-agent").value = agents.body.agents[0] || "";
      $("agent-list").replaceChildren(...agents.body.agents.map((a) => h("option", { value: a })));
    }
  }

  async function devLogin(ev) {
    ev.preventDefault();
    const r = await api("/v1/desktop/dev/login", { method: "POST",
      json: { agent: $("login-agent").value.trim(), tenant: $("login-tenant").value.trim() } });
    if (r.status !== 200) { $("login-msg").textContent = (r.body && r.body.detail) || "Sign-in failed"; return; }
    sessionStorage.setItem(TOKEN_KEY, r.body.token);
    start();
  }

  function tokenLogin(ev) {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("login-token").value.trim());
    start();
  }

  // ---- pops -----------------------------------------------------------------------------
  // Older than the freshness window by its ring time (rang_at; occurred_at from producers
  // before it). The gateway already sends such pops as `history`; this also covers a pop
  // kept across a reload or a stream held open while the panel was asleep.
  function isEarlier(pop) {
    const t = Date.parse(pop.rang_at || pop.occurred_at);
    return !Number.isNaN(t) && Date.now() - t > state.freshMs;
  }

  // `history`: the gateway says the pop is no longer ringing (rang before the window, or its
  // call ended). It goes to the Recent list; it takes the screen only when nothing is on it,
  // and then as an earlier call, never as a ringing one.
  function onPop(ev, history) {
    let pop;
    try { pop = JSON.parse(ev.data); } catch (_e) { return; }
    if (ev.lastEventId) sessionStorage.setItem(lastKey(), ev.lastEventId);
    state.received = [...state.received.slice(-49), pop.interaction_id];
    const earlier = history || isEarlier(pop);
    if (pop.suppressed) {
      if (!earlier) notice("An interaction was not popped (" + (pop.suppression_reason || "suppressed") + ").");
      return;
    }
    Recent.remember(state, ev.data);
    if (earlier) {
      if (!state.pop) {
        show(ev.data, true);
        notice("Earlier " + channelName(pop.channel).toLowerCase() + ", not ringing now.");
      } else {
        Recent.render(state, deps);
      }
      save();
      return;
    }
    // The pop re-sent after a link action on an interaction the agent has since left
    // refreshes its Recent entry without taking the screen back.
    const away = state.pop && state.pop.interaction_id !== pop.interaction_id;
    if (away && LINK_TRIGGERS.has(triggerOf(pop))) {
      save();
      Recent.render(state, deps);
      return;
    }
    // The pop re-sent after a link on the interaction on screen is no new call: the
    // notice of the link (or of the profile created) stays.
    const relinked = !away && state.pop && LINK_TRIGGERS.has(triggerOf(pop));
    show(ev.data);
    save();
    if (!relinked) notice("New " + channelName(pop.channel).toLowerCase() + " for you.");
  }

  const LINK_TRIGGERS = new Set(["open_profile", "relink"]);
  function triggerOf(pop) {
    try { return ((JSON.parse(pop.view_json || "{}") || {}).interaction || {}).trigger || null; } catch (_e) { return null; }
  }

  function show(data, earlier) {
    let pop;
    try { pop = JSON.parse(data); } catch (_e) { return; }
    state.earlier = Boolean(earlier) || isEarlier(pop);
    state.aged = false;
    let view = null;
    try { view = pop.view_json ? JSON.parse(pop.view_json) : null; } catch (_e) { view = null; }
    // A pop re-sent after a link names only the linked profile: keep the identifier's
    // other matches of this interaction, so the agent can still relink among them.
    const same = state.pop && state.pop.interaction_id === pop.interaction_id;
    state.pop = pop;
    state.view = view || fallbackView(pop);
    const seen = new Map((same ? state.candidates : []).map((c) => [c.profile_id, c]));
    for (const c of (state.view.match || {}).candidates || []) seen.set(c.profile_id, c);
    state.candidates = [...seen.values()];
    state.chosen = null;
    state.filter = "all";
    render();
    Crm.load(state, deps);
  }

  // A pop without a view (older producers) still says who is calling.
  function fallbackView(pop) {
    return {
      interaction: { interaction_id: pop.interaction_id, channel: pop.channel },
      party: null,
      match: { status: pop.match_status, count: pop.match_count, profile_id: pop.profile_id,
        reason: pop.reason, candidates: pop.candidates || [] },
      profile: null, timeline: [], insights: null, related: null, notes: [],
    };
  }

  // Going back to an earlier interaction of the Recent list.
  function showEntry(entry) {
    show(entry.data);
    save();
    $("caller").focus();
  }

  const deps = { act, api, notice, render, showEntry, signedOut };
  function render() {
    $("idle").hidden = true;
    $("panel").hidden = false;
    R.renderAll(state, deps);
    Recent.render(state, deps);
    Search.place(state, deps);
    $("note-status").textContent = "";
  }

  async function addNote(ev) {
    ev.preventDefault();
    const kind = $("note-kind").value;
    const text = $("note-text").value.trim();
    const status = $("note-status");
    if (kind === "add_note" && !text) { status.textContent = "Write the note first."; return; }
    status.textContent = "Saving…";
    const r = await act(kind, text ? { text } : {});
    if (r.status === 202) {
      $("note-text").value = "";
      status.textContent = $("note-kind").selectedOptions[0].textContent + " saved.";
      status.dataset.eventId = r.body.event_id;
    } else {
      status.textContent = "Not saved: " + ((r.body && r.body.detail) || "service unavailable") + ".";
    }
  }

  window.c360Panel = { state, render };
  document.addEventListener("DOMContentLoaded", () => {
    $("dev-login").addEventListener("submit", devLogin);
    $("token-login").addEventListener("submit", tokenLogin);
    $("logout").addEventListener("click", () => signedOut("Signed out.", true));
    $("note-form").addEventListener("submit", addNote);
    R.wireRelinkDialog(state, deps);
    Search.wire(state, deps);
    window.C360ProfileForm.wire();
    setInterval(R.refreshTimes, 30000);
    // A call on screen past the freshness window is no longer new: say so in place.
    setInterval(() => {
      if (state.pop && !state.earlier && !state.aged && isEarlier(state.pop)) { state.aged = true; R.renderAll(state, deps); }
    }, 5000);
    start();
  });

})();
