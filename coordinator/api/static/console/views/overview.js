// Overview: machines up and down, open alarms by severity, customer orders by status and
// the on-time rate of delivered ones, jobs by state, the plan at a glance. A KPI whose
// API this coordinator lacks says "not available yet" rather than guess.

import {get, getOptional} from "../api.js";
import {lateWhy} from "../late.js";
import {ago, count, el, number, section, table, time} from "../dom.js";

export const SEVERITIES = ["CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE"];
const SEV_COLOURS = {CRITICAL: "var(--critical)", MAJOR: "var(--major)", MINOR: "var(--minor)", WARNING: "var(--warning)", INDETERMINATE: "var(--indeterminate)"};

function kpi(testid, label, value, sub, extra) {
  const na = value === null;
  return el("div", {class: "kpi", "data-testid": testid},
    el("div", {class: "label", text: label}),
    // a breakdown ("9 delayed · 25 delivered · …") in a smaller size than one figure
    el("div", {class: na ? "value na" : value.includes(" · ") ? "value parts" : "value", text: na ? "not available yet" : value}),
    sub ? el("div", {class: "sub", text: sub}) : null,
    extra || null);
}

function severityBar(counts) {
  return el("div", {class: "sevbar", role: "img", "aria-label": SEVERITIES.map(s => counts[s] + " " + s).join(", ")},
    SEVERITIES.filter(s => counts[s]).map(s => el("span", {"data-sev": s})));
}

/** Production jobs by progress state (planned, started, finished, short), from /api/v1/jobs. */
function jobStates(page) {
  if (!page) return null;
  const counts = {};
  for (const j of page.jobs) counts[j.state] = (counts[j.state] || 0) + 1;
  return Object.entries(counts).sort().map(([s, n]) => n + " " + s).join(" · ") || "no job yet";
}

// An order's statuses in the order it moves through them (coordinator.sales.lifecycle);
// the exceptions last.
const ORDER_FLOW = ["received", "promised", "reserved", "in_production", "produced", "qc_passed",
  "at_warehouse", "out_for_delivery", "delivered", "delayed", "failed_delivery", "cancelled"];

/** Customer orders by status in the order they flow, from /api/v1/sales-summary (null: not taken here). */
export function orderStatus(summary) {
  if (!summary) return null;
  const rank = s => (ORDER_FLOW.indexOf(s) + ORDER_FLOW.length + 1) % (ORDER_FLOW.length + 1);
  return Object.entries(summary.by_status).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([s, n]) => n + " " + s.replaceAll("_", " ")).join(" · ") || "no order yet";
}

/**
 * The on-time KPI from /api/v1/sales-summary: the coordinator counts every delivered order
 * against the promise given when it was taken, from its first delivery.
 */
function onTimeKpi(summary) {
  if (!summary) return kpi("kpi-on-time", "On-time rate", null, "sales orders are not taken on this coordinator");
  if (!summary.delivered) return kpi("kpi-on-time", "On-time rate", null, "no order delivered yet");
  const lead = summary.lead_time_p50_h === null ? "" : "; lead time median " + number(summary.lead_time_p50_h, 1) + " h";
  return kpi("kpi-on-time", "On-time rate", number(summary.on_time_rate * 100, 1) + " %",
    number(summary.delivered_on_time) + " of " + number(summary.delivered) + " delivered by the promised time" + lead);
}

export const overviewView = {
  name: "overview",
  title: "Overview",
  render(main, ctx) {
    const kpis = el("div", {class: "kpis", "aria-label": "Key figures"});
    const lower = el("div", {class: "grid"});
    main.append(kpis, lower);
    let nodes = [], schedule = null, jobs = null, sales = null;  // sales: the summary

    const draw = () => {
      const machines = nodes.filter(n => n.kind === "machine");
      const up = machines.filter(n => n.online).length;
      const open = ctx.alarms.open();
      const counts = Object.fromEntries(SEVERITIES.map(s => [s, 0]));
      for (const a of open) counts[a.severity] = (counts[a.severity] || 0) + 1;
      const unack = open.filter(a => !a.acknowledged).length;
      const bar = severityBar(counts);
      for (const span of bar.children) {
        span.style.flex = String(counts[span.dataset.sev]);
        span.style.background = SEV_COLOURS[span.dataset.sev];
      }
      const statusText = orderStatus(sales);
      kpis.replaceChildren(
        kpi("kpi-machines", "Machines up", machines.length ? up + " / " + machines.length : "0",
          machines.length - up ? (machines.length - up) + " down" : "none down"),
        kpi("kpi-alarms", "Open alarms", number(open.length), unack + " not acknowledged", bar),
        kpi("kpi-severity", "By severity", SEVERITIES.filter(s => counts[s]).map(s => counts[s] + " " + s.toLowerCase()).join(" · ") || "none", null),
        onTimeKpi(sales),
        kpi("kpi-orders", "Orders by status", statusText, statusText ? number(sales.orders) + " orders" : "sales orders are not taken on this coordinator"),
        kpi("kpi-jobs", "Jobs by state", jobStates(jobs), jobs ? (jobs.next_after ? "first " + number(jobs.count) + " jobs" : null) : "needs job progress from the jobs API"),
        kpi("kpi-nodes", "Nodes online", nodes.filter(n => n.online).length + " / " + nodes.length, null),
      );

      const worst = [...open].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || b.last_ms - a.last_ms).slice(0, 8);
      const down = machines.filter(n => !n.online);
      const late = schedule ? schedule.late_jobs : [];
      lower.replaceChildren(
        section("Most urgent alarms",
          table("Open alarms, most severe first", ["Severity", "Where", "What", "Since"],
            worst.map(a => el("tr", {class: "clickable", onclick: () => ctx.go("#/alarms")},
              el("td", {}, el("span", {class: "sev " + a.severity, text: a.severity})),
              el("td", {text: a.source}), el("td", {text: a.message}), el("td", {text: ago(a.start_ms)}))),
            {empty: "no open alarms"})),
        section("Machines down",
          table("Machines offline now", ["Machine", "Site", "Why", "Last seen"],
            down.map(n => el("tr", {}, el("td", {text: n.node}), el("td", {text: n.site}),
              el("td", {text: n.offline_reason || "offline"}), el("td", {text: ago(n.last_seen_ms)}))),
            {empty: "every machine is up"})),
        section("Production plan",
          schedule && schedule.version
            ? el("p", {text: "Schedule version " + schedule.version + ", made " + time(schedule.made_ms) + " (" + schedule.status + "): "
                + count(Object.values(schedule.machines).reduce((n, ops) => n + ops.length, 0), "operation") + " on "
                + count(Object.keys(schedule.machines).length, "machine") + ", " + count(late.length, "late job") + "."})
            : el("p", {class: "muted", text: "No schedule yet."}),
          late.length ? table("Late jobs", ["Job", "Why"], late.slice(0, 6).map(j =>
            el("tr", {}, el("td", {text: j.job_id}), el("td", {text: lateWhy(j, schedule)})))) : null),
      );
    };

    const unsubscribe = ctx.alarms.subscribe(draw);
    return {
      async refresh() {
        [nodes, schedule, jobs, sales] = await Promise.all([
          get("/api/v1/nodes"),
          getOptional("/api/v1/plans/schedule").catch(() => null),
          getOptional("/api/v1/jobs?limit=1000").catch(() => null),
          getOptional("/api/v1/sales-summary").catch(() => null),
        ]);
        draw();
      },
      dispose() { unsubscribe(); },
    };
  },
};
