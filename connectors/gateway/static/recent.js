// c360 agent panel, recent interactions: the latest pop of each interaction popped to this
// agent lately (a new panel gets the last C360_GATEWAY_RECENT_SECONDS replayed), so the agent
// can go back to the previous call for wrap-up notes while the next one is on screen.
"use strict";

(function () {
  const LIMIT = 10;

  function parse(data) {
    try {
      const pop = JSON.parse(data);
      let view = null;
      try { view = pop.view_json ? JSON.parse(pop.view_json) : null; } catch (_e) { view = null; }
      return { pop, view };
    } catch (_e) { return null; }
  }

  // Who the entry is about, in the words the caller section uses.
  function labelOf(pop, view) {
    const v = view || {}, m = v.match || {};
    if (v.profile && (v.profile.display_name || v.profile.profile_id)) return v.profile.display_name || v.profile.profile_id;
    if (m.status === "several") return (m.count || (m.candidates || []).length) + " matches";
    if (v.party && v.party.value) return v.party.value;
    return pop.match_status === "none" ? "Not identified" : "Caller";
  }

  // Newest first; one entry per interaction (a pop re-sent after a relink replaces it).
  function remember(state, data) {
    const got = parse(data);
    if (!got) return;
    const { pop, view } = got;
    // The ring time (rang_at), not the pop's render time: a late pop of an old call says so.
    const entry = { interaction_id: pop.interaction_id, channel: pop.channel, at: pop.rang_at || pop.occurred_at,
      label: labelOf(pop, view), data };
    state.recent = [entry, ...state.recent.filter((e) => e.interaction_id !== pop.interaction_id)].slice(0, LIMIT);
  }

  function render(state, deps) {
    const R = window.C360Render, h = R.h;
    const nav = document.getElementById("recent");
    const current = state.pop ? state.pop.interaction_id : null;
    if (state.recent.length < 2) { nav.hidden = true; nav.replaceChildren(); return; }
    nav.hidden = false;
    nav.replaceChildren(
      h("h2", { id: "recent-h", class: "sr-only" }, "Recent interactions"),
      h("ul", { class: "recent" }, state.recent.map((e) => h("li", {},
        h("button", { type: "button", class: "recent-item", "aria-current": e.interaction_id === current ? "true" : null,
          "data-interaction": e.interaction_id, onclick: () => deps.showEntry(e) },
          R.icon(e.channel), h("span", { class: "sr-only" }, R.channelName(e.channel) + ": "),
          h("span", { class: "label" }, e.label), " ",
          e.at ? h("time", { datetime: e.at, title: new Date(e.at).toLocaleString(), "data-rel": "1" }, R.relative(e.at)) : null)))),
    );
  }

  window.C360Recent = { remember, render };
})();
