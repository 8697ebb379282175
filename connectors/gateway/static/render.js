// c360 agent panel, rendering: the caller, timeline and related-records sections from a
// pop's view (docs/screen-pops.md; insights in insights.js). Text only via textContent.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false || c === "") continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  // Replace a section's content; nested arrays and empty parts are allowed, as in h().
  function fill(id, ...parts) {
    $(id).replaceChildren(...parts.flat(Infinity).filter((p) => p !== null && p !== undefined && p !== false && p !== ""));
  }

  // Stroke icons drawn for this panel (24x24), so nothing is fetched from a CDN.
  const ICONS = {
    voice: ["M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2"],
    chat: ["M21 11.5a8.4 8.4 0 0 1-9 8 8.5 8.5 0 0 1-3.8-.9L3 21l1.9-5.7A8.4 8.4 0 0 1 12 3a8.5 8.5 0 0 1 9 8.5z"],
    sms: ["M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z", "M8 10h.01M12 10h.01M16 10h.01"],
    email: ["M4 4h16a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z", "M22 6l-10 7L2 6"],
    whatsapp: ["M21 11.5a8.4 8.4 0 0 1-9 8 8.5 8.5 0 0 1-3.8-.9L3 21l1.9-5.7A8.4 8.4 0 0 1 12 3a8.5 8.5 0 0 1 9 8.5z",
      "M9 9.5c0 3 2.5 5.5 5.5 5.5l1-1.5-2-1-1 .8a4 4 0 0 1-1.8-1.8l.8-1-1-2z"],
    other: ["M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z"],
  };
  const NAMES = { voice: "Call", chat: "Chat", sms: "SMS", email: "Email", whatsapp: "WhatsApp" };
  const channelName = (c) => NAMES[c] || (c ? c[0].toUpperCase() + c.slice(1) : "Other");

  function icon(channel) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "icon icon-" + (ICONS[channel] ? channel : "other"));
    for (const d of ICONS[channel] || ICONS.other) {
      const p = document.createElementNS(ns, "path");
      p.setAttribute("d", d);
      svg.append(p);
    }
    return svg;
  }

  const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  function relative(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return "";
    const s = Math.round((t - Date.now()) / 1000);
    for (const [unit, size] of [["year", 31536000], ["month", 2592000], ["week", 604800],
      ["day", 86400], ["hour", 3600], ["minute", 60]]) {
      if (Math.abs(s) >= size) return rtf.format(Math.round(s / size), unit);
    }
    return "just now";
  }
  const timeEl = (iso) => h("time", { datetime: iso, title: new Date(iso).toLocaleString(), "data-rel": "1" }, relative(iso));
  function refreshTimes() {
    for (const t of document.querySelectorAll("time[data-rel]")) t.textContent = relative(t.getAttribute("datetime"));
  }
  function duration(sec) {
    if (sec === null || sec === undefined) return null;
    return Math.floor(sec / 60) + ":" + String(sec % 60).padStart(2, "0");
  }
  const cap = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

  // ---- caller -----------------------------------------------------------------------------
  function fieldValue(f) {
    const v = f.value;
    if (Array.isArray(v)) return v.join(", ");
    if (typeof v === "boolean") return v ? "Yes" : "No";
    if (typeof v === "number") return v.toLocaleString("en");
    if (f.type === "url" && /^https?:\/\//.test(v)) return h("a", { href: v, rel: "noopener", target: "_blank" }, v);
    if (f.type === "email") return h("a", { href: "mailto:" + v }, v);
    return String(v);
  }

  function profileBlock(state, name, profileId, fields, badge, deps) {
    const dl = h("dl", { class: "fields" }, (fields || [])
      .filter((f) => f.name !== "display_name")
      .map((f) => [h("dt", {}, f.label || f.name), h("dd", {}, fieldValue(f))]));
    return [
      h("h3", { class: "name" }, name || profileId, badge ? h("span", { class: "badge info" }, badge) : null),
      h("p", { class: "muted" }, "Profile ", h("code", {}, profileId)),
      dl,
      h("p", { class: "profile-actions" },
        h("button", { type: "button", class: "relink", onclick: () => openRelink("relink") }, "Relink…"),
        h("button", { type: "button", class: "edit", "aria-label": "Edit " + (name || profileId),
          onclick: () => window.C360ProfileForm.openEdit(state, deps, profileId) }, "Edit")),
    ];
  }

  function caller(state, deps) {
    const v = state.view, m = v.match || {}, ix = v.interaction || {}, party = v.party;
    const what = [cap(ix.direction), channelName(ix.channel).toLowerCase()].filter(Boolean).join(" ");
    const who = party && party.value ? party.value : party && party.kind === "anonymous" ? "Anonymous caller" : "Unknown identifier";
    // Live or earlier: a pop that rang before the freshness window (or whose call ended) is
    // never presented as ringing (panel.js decides state.earlier).
    // A call that came in live and has been on screen past the window is "aged": no longer
    // new, but not an earlier call either (the agent may still be on it).
    const rang = state.pop && (state.pop.rang_at || state.pop.occurred_at);
    const kind = state.earlier ? "earlier" : state.aged ? "aged" : "live";
    const when = kind === "earlier"
      ? h("p", { class: "when" }, h("span", { class: "badge earlier" }, "Earlier call"),
        rang ? [" rang ", timeEl(rang)] : null, " · not ringing now")
      : kind === "aged" ? h("p", { class: "when" }, "Rang ", rang ? timeEl(rang) : null)
        : h("p", { class: "when" }, h("span", { class: "badge live" }, "New call"));
    $("caller").dataset.when = kind;
    const parts = [
      h("h2", { id: "caller-h" }, "Caller"),
      when,
      h("p", { class: "ix" }, icon(ix.channel), h("span", {}, cap(what)), ix.queue ? h("span", { class: "muted" }, " · " + ix.queue) : null),
      h("p", { class: "party" }, who),
    ];
    if (state.chosen) {
      parts.push(...profileBlock(state, state.chosen.display_name, state.chosen.profile_id, [], "linked, refreshing", deps));
    } else if (v.profile) {
      parts.push(...profileBlock(state, v.profile.display_name, v.profile.profile_id, v.profile.fields, null, deps));
    } else if (m.status === "several") {
      parts.push(
        h("h3", { class: "name" }, (m.count || m.candidates.length) + " matches"),
        h("p", { class: "muted" }, "Several profiles share this identifier. Choose the caller:"),
        h("ul", { class: "chooser" }, (m.candidates || []).map((c) => h("li", {},
          h("span", { class: "cand" }, c.display_name || c.profile_id, " ", h("code", {}, c.profile_id)),
          h("button", { type: "button", class: "open", "aria-label": "Open " + (c.display_name || c.profile_id),
            onclick: () => choose(state, deps, "open_profile", c) }, "Open")))),
        h("p", { class: "profile-actions" },
          h("button", { type: "button", class: "link-button", onclick: () => window.C360Search.focus() }, "None of these: find a contact…"),
          createButton(state, deps)),
      );
    } else if (m.status === "hint" && m.hint) {
      parts.push(h("h3", { class: "name" }, "CRM record"),
        h("p", {}, m.hint.crm + " " + m.hint.object_type + " ", h("code", {}, m.hint.record_id)));
    } else {
      parts.push(
        h("h3", { class: "name unknown" }, "Not identified"),
        m.reason ? h("p", { class: "muted" }, m.reason) : null,
        h("p", { class: "profile-actions" },
          h("button", { type: "button", class: "relink", onclick: () => window.C360Search.focus() }, "Find a contact…"),
          createButton(state, deps)),
      );
    }
    fill("caller", ...parts);
  }

  const createButton = (state, deps) => h("button", { type: "button", class: "create",
    onclick: () => window.C360ProfileForm.openCreate(state, deps) }, "Create profile…");

  // "linked, refreshing" until the fresh pop naming the profile comes, unless it already
  // came while the link was being answered (or another interaction is on screen now).
  function linked(state, deps, iid, profileId, displayName) {
    if (!state.pop || state.pop.interaction_id !== iid || state.pop.profile_id === profileId) return;
    state.chosen = { profile_id: profileId, display_name: displayName };
    deps.render();
  }

  async function choose(state, deps, action, cand) {
    const iid = state.pop.interaction_id;
    const r = await deps.act(action, { profile_id: cand.profile_id });
    if (r.status !== 202) {
      deps.notice("Could not link: " + ((r.body && r.body.detail) || "service unavailable"));
      return false;
    }
    linked(state, deps, iid, cand.profile_id, cand.display_name);
    deps.notice("Linked to " + (cand.display_name || cand.profile_id) + ".");
    return true;
  }

  // ---- relink dialog ----------------------------------------------------------------------
  let openRelink = () => {};
  function wireRelinkDialog(state, deps) {
    const dialog = $("relink-dialog");
    let mode = "relink";
    openRelink = (m) => {
      mode = m;
      const current = state.chosen ? state.chosen.profile_id : state.view.profile ? state.view.profile.profile_id : null;
      const cands = state.candidates.filter((c) => c.profile_id !== current);
      if (!cands.length) { window.C360Search.focus(); return; }  // nothing to choose among: search
      $("relink-h").textContent = mode === "relink" ? "Relink this interaction to another profile" : "Link this interaction to a profile";
      $("relink-confirm").textContent = mode === "relink" ? "Relink" : "Link";
      fill("relink-choices", h("legend", {}, "Matching profiles"),
        cands.length ? cands.map((c, i) => h("label", { class: "choice" },
          h("input", { type: "radio", name: "profile", value: c.profile_id, "data-name": c.display_name || "", checked: i === 0 }),
          " ", c.display_name || c.profile_id, " ", h("code", {}, c.profile_id)))
          : h("p", { class: "muted" }, "No other matching profiles."));
      $("relink-msg").textContent = "";
      dialog.showModal();
    };
    $("relink-cancel").addEventListener("click", () => dialog.close());
    $("relink-search").addEventListener("click", () => { dialog.close(); window.C360Search.focus(); });
    $("relink-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const picked = dialog.querySelector("input[name=profile]:checked");
      const cand = picked ? { profile_id: picked.value, display_name: picked.dataset.name || null } : null;
      if (!cand) { $("relink-msg").textContent = "Choose a profile, or search for another contact."; return; }
      if (await choose(state, deps, mode, cand)) dialog.close();
      else $("relink-msg").textContent = "The link was not saved; try again.";
    });
  }

  // ---- timeline ---------------------------------------------------------------------------
  function timelineItem(i, current) {
    const meta = [cap(i.direction), i.queue, (i.agents || []).join(", "), duration(i.duration_seconds),
      i.disposition, i.outcome].filter(Boolean);
    return h("li", { class: "item" + (i.failed ? " failed" : ""), "data-channel": i.channel },
      h("span", { class: "ch ch-" + i.channel, title: channelName(i.channel) }, icon(i.channel)),
      h("div", { class: "body" },
        h("p", { class: "head" }, h("span", { class: "sr-only" }, channelName(i.channel) + ": "),
          h("strong", {}, i.title), i.interaction_id === current ? h("span", { class: "badge info" }, "Now") : null,
          i.failed ? h("span", { class: "badge fail" }, "Failed") : null,
          i.started_at ? timeEl(i.started_at) : null),
        h("p", { class: "meta" }, meta.join(" · ")),
        i.sentiment_label ? h("span", { class: "badge sent-" + i.sentiment_label }, cap(i.sentiment_label)) : null,
        (i.topics || []).length ? h("ul", { class: "chips small", "aria-label": "Topics" }, i.topics.map((t) => h("li", {}, t))) : null,
        i.notes ? h("p", { class: "notes" }, i.notes) : null,
        i.recording_url || i.transcript_url ? h("p", { class: "links" },
          i.recording_url ? h("a", { href: i.recording_url, target: "_blank", rel: "noopener" }, "Recording") : null,
          i.transcript_url ? h("a", { href: i.transcript_url, target: "_blank", rel: "noopener" }, "Transcript") : null) : null));
  }

  function timeline(state, deps) {
    const v = state.view, items = v.timeline || [];
    const channels = [...new Set(items.map((i) => i.channel))];
    const shown = items.filter((i) => state.filter === "all" || i.channel === state.filter);
    const button = (value, label, ch) => h("button", { type: "button", class: "filter", "aria-pressed": String(state.filter === value),
      "data-filter": value, onclick: () => { state.filter = value; timeline(state, deps); } }, ch ? icon(ch) : null, label);
    fill("timeline",
      h("h2", { id: "timeline-h" }, "Timeline"),
      h("p", { class: "muted" }, v.timeline_scope === "party" ? "History of this identifier" : "History of this customer"),
      h("div", { class: "filters", role: "group", "aria-label": "Filter by channel" },
        button("all", "All"), channels.map((c) => button(c, channelName(c), c))),
      shown.length ? h("ol", { class: "items" }, shown.map((i) => timelineItem(i, (v.interaction || {}).interaction_id)))
        : h("p", { class: "muted" }, state.filter === "all" ? "No earlier interactions." : "No " + channelName(state.filter) + " interactions."),
    );
  }

  // ---- related records --------------------------------------------------------------------
  function related(state, deps) {
    const list = state.view.related;
    const row = (r) => {
      const label = [r.crm, r.object_type].filter(Boolean).join(" ") + " " + r.record_id;
      const linked = r.status === "linked";
      return h("li", { class: "rel" },
        r.url ? h("a", { href: r.url, target: "_blank", rel: "noopener" }, label) : h("span", {}, label),
        h("span", { class: "badge st-" + r.status }, r.status),
        h("button", { type: "button", class: "link-button", onclick: async () => {
          const r2 = await deps.act(linked ? "unlink_record" : "link_record", { record_id: r.record });
          if (r2.status === 202) { r.status = linked ? "unlinked" : "linked"; related(state, deps); }
          else deps.notice("Could not update the record link.");
        } }, linked ? "Unlink" : "Link"));
    };
    fill("related",
      h("h2", { id: "related-h" }, "Related records"),
      Array.isArray(list) && list.length ? h("ul", { class: "related" }, list.map(row))
        : h("p", { class: "muted" }, Array.isArray(list) ? "No related records yet." : "Not available in this deployment."),
    );
  }

  function renderAll(state, deps) {
    caller(state, deps);
    window.C360Insights.render(state);
    timeline(state, deps);
    related(state, deps);
  }

  window.C360Render = { h, fill, cap, timeEl, icon, channelName, relative, refreshTimes, renderAll, wireRelinkDialog, choose, linked };
})();
