// c360 agent panel, insights section: recent sentiment, topics, engagement summary and the
// campaign journey of the caller (docs/screen-pops.md `insights`). Text only, never HTML.
"use strict";

(function () {
  const R = window.C360Render;
  const { h, fill, cap, timeEl } = R;

  // view.insights is core.insights' output (sentiment, topics, engagement, journey);
  // without it (a deployment with no insights module) the panel derives what it can from
  // the timeline items, with the same ">= 2 analysed interactions" rule for sentiment.
  function sentimentOf(v) {
    const s = (v.insights || {}).sentiment;
    if (s) {
      if (!s.available) return { message: s.message || "Not enough analysed interactions yet." };
      return { avg: s.average, label: s.label, trend: s.trend, values: (s.items || []).map((i) => i.sentiment) };
    }
    const values = (v.timeline || []).map((i) => i.sentiment).filter((x) => typeof x === "number").slice(0, 10);
    if (values.length < 2) return { message: "Not enough analysed interactions yet." };
    const avg = values.reduce((a, b) => a + b, 0) / values.length;
    return { avg, values, trend: "from the timeline shown", label: avg >= 0.25 ? "positive" : avg <= -0.25 ? "negative" : "neutral" };
  }
  function topicsOf(v) {
    const t = (v.insights || {}).topics;
    if (t) return { items: (t.topics || []).map((x) => ({ name: x.topic, count: x.interactions })), message: t.message };
    const counts = new Map();
    for (const i of v.timeline || []) for (const name of i.topics || []) counts.set(name, (counts.get(name) || 0) + 1);
    return { items: [...counts].sort((a, b) => b[1] - a[1]).map(([name, count]) => ({ name, count })) };
  }
  function journeyOf(v) {
    const j = (v.insights || {}).journey;
    return j && j.days ? j.days.flatMap((d) => d.interactions || []) : [];
  }

  function insights(state) {
    const v = state.view, ins = v.insights || {};
    const s = sentimentOf(v), topics = topicsOf(v), steps = journeyOf(v);
    const eng = ins.engagement;
    const sentiment = s.message ? h("p", { class: "muted" }, s.message)
      : h("p", { class: "sentiment sent-" + s.label },
        h("strong", {}, cap(s.label)),
        h("span", { class: "muted" }, " average " + Number(s.avg).toFixed(2) + " over the last " + s.values.length +
          (s.trend ? ", " + s.trend : "")),
        h("span", { class: "bars", "aria-hidden": "true" }, [...s.values].reverse().map((x) => h("span", {
          class: "sbar " + (x >= 0.25 ? "pos" : x <= -0.25 ? "neg" : "neu"), style: "height:" + Math.round(6 + Math.abs(x) * 14) + "px" }))));
    fill("insights",
      h("h2", { id: "insights-h" }, "Insights"),
      h("h3", {}, "Recent sentiment"), sentiment,
      h("h3", {}, "Recent topics"),
      topics.items.length ? h("ul", { class: "chips" }, topics.items.map((t) => h("li", {}, t.name,
        t.count > 1 ? h("span", { class: "count" }, " ×" + t.count) : null)))
        : h("p", { class: "muted" }, topics.message || "No topics detected."),
      h("h3", {}, "Engagement summary"),
      eng && eng.available ? [h("p", {}, eng.summary),
        (eng.key_terms || []).length ? h("ul", { class: "chips small", "aria-label": "Key terms" }, eng.key_terms.map((k) => h("li", {}, k))) : null]
        : h("p", { class: "muted" }, (eng && eng.message) || "No summary available."),
      steps.length ? [h("h3", {}, "Campaign journey"), h("ul", { class: "journey" }, steps.map((j) => h("li", { class: j.failed ? "failed" : "" },
        h("strong", {}, j.campaign || "Campaign"), [j.mode, j.outcome].filter(Boolean).map((x) => " · " + x).join(""), " ",
        j.failed ? h("span", { class: "badge fail" }, "Failed") : null,
        j.score !== undefined && j.score !== null ? h("span", { class: "muted" }, " score " + (j.previous_score ?? "–") + " → " + j.score) : null,
        j.started_at ? [" · ", timeEl(j.started_at)] : null)))] : null,
      (v.notes || []).length ? h("p", { class: "fine" }, v.notes.join(" · ")) : null,
    );
  }

  window.C360Insights = { render: insights };
})();
