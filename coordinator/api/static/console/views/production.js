// Production: the current schedule as a Gantt chart, one lane per machine. Operations are
// coloured by product family (from the held orders; by job when an operation has none),
// changeovers are hatched before the operation they prepare, operations of late jobs are
// outlined red and marked, and a red line shows now. Redrawn whenever a re-plan makes a
// new schedule version.

import {get, getOptional} from "../api.js";
import {lateWhy} from "../late.js";
import {colourOf, count as plural, el, paletteColour, notice, number, section, svg, table, dateTime} from "../dom.js";

const LABEL_W = 130, LANE_H = 28, AXIS_H = 26, BAR_PAD = 4;

/** family of operation "job:k", from the orders as posted; null when unknown. */
function familyIndex(orders) {
  const families = new Map();
  for (const job of (orders && orders.jobs) || []) {
    (job.operations || []).forEach((op, k) => { if (op.family) families.set(job.id + ":" + k, op.family); });
  }
  return families;
}

function tickStep(spanS, width) {
  const steps = [60, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 172800, 604800];
  return steps.find(s => (spanS / s) * 90 <= width) || steps.at(-1);
}

/** Colours: one palette colour per product family in use, a hashed colour per job without. */
export function familyColours(families) {
  const used = [...new Set(families.values())].sort();
  return new Map(used.map((f, i) => [f, paletteColour(i)]));
}

export function drawGantt(schedule, families, {width}) {
  const colours = familyColours(families);
  const unit = schedule.time_unit_s;
  const machines = Object.keys(schedule.machines).sort();
  const ops = machines.flatMap(m => schedule.machines[m]);
  const late = new Map(schedule.late_jobs.map(j => [j.job_id, j]));
  const t0 = Math.min(schedule.now, ...ops.map(o => o.start - o.setup));
  const t1 = Math.max(schedule.now + 1, ...ops.map(o => o.end));
  const plotW = width - LABEL_W - 10;
  const x = (t) => LABEL_W + ((t - t0) / (t1 - t0)) * plotW;
  const height = AXIS_H + machines.length * LANE_H + 20;
  const wall = (t) => (schedule.epoch_s + t * unit) * 1000;

  const root = svg("svg", {class: "gantt", width, height, viewBox: `0 0 ${width} ${height}`, role: "group",
    "aria-label": "Gantt chart: " + ops.length + " operations on " + machines.length + " machines"});
  root.append(svg("defs", {}, svg("pattern", {id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)"},
    svg("rect", {width: 6, height: 6, fill: "#eceff2"}), svg("line", {x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#8d99a6", "stroke-width": 2}))));

  const step = tickStep((t1 - t0) * unit, plotW) / unit;
  const axis = svg("g", {class: "axis", "aria-hidden": "true"});
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    const label = new Date(wall(t));
    if (x(t) > width - 60) break;
    axis.append(svg("line", {class: "tick", x1: x(t), x2: x(t), y1: AXIS_H - 4, y2: height}),
      svg("text", {class: "tick-label", x: x(t) + 3, y: AXIS_H - 9,
        text: step * unit >= 86400 ? label.toLocaleDateString() : label.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"})}));
  }
  root.append(axis);

  machines.forEach((m, i) => {
    const y = AXIS_H + i * LANE_H;
    const lane = svg("g", {class: "lane-group", "data-machine": m, role: "list", "aria-label": "machine " + m});
    lane.append(svg("rect", {class: i % 2 ? "lane alt" : "lane", x: 0, y, width, height: LANE_H}),
      svg("text", {class: "machine", x: 8, y: y + LANE_H / 2 + 4, text: m}));
    for (const o of schedule.machines[m]) {
      const family = families.get(o.operation_id);
      const lateJob = late.get(o.job_id);
      if (o.setup > 0) lane.append(svg("rect", {class: "setup", x: x(o.start - o.setup), y: y + BAR_PAD, width: Math.max(1, x(o.start) - x(o.start - o.setup)), height: LANE_H - 2 * BAR_PAD},
        svg("title", {text: "changeover before " + o.operation_id + ": " + number(o.setup * unit / 60, 1) + " min"})));
      const w = Math.max(1.5, x(o.end) - x(o.start));
      const what = o.operation_id + (family ? " · " + family : "") + " · " + dateTime(wall(o.start)) + " → " + dateTime(wall(o.end))
        + (lateJob ? " · job late: " + lateJob.reason.replaceAll("_", " ") : "");
      const bar = svg("g", {role: "listitem", "aria-label": what},
        svg("rect", {class: "op" + (lateJob ? " late" : ""), "data-testid": "gantt-op", "data-op": o.operation_id, "data-job": o.job_id,
          "data-late": lateJob ? "true" : "false", x: x(o.start), y: y + BAR_PAD, width: w, height: LANE_H - 2 * BAR_PAD, rx: 2,
          fill: family ? colours.get(family) : colourOf(o.job_id)}, svg("title", {text: what})));
      if (w > o.operation_id.length * 6.5 + 8) bar.append(svg("text", {class: "op-label", x: x(o.start) + 4, y: y + LANE_H / 2 + 4, text: o.operation_id}));
      if (lateJob && w > 10) bar.append(svg("text", {class: "late-mark", x: x(o.end) - 9, y: y + BAR_PAD + 9, fill: "#fff", "font-weight": 700, text: "!"}));
      lane.append(bar);
    }
    root.append(lane);
  });
  root.append(svg("line", {class: "now", x1: x(schedule.now), x2: x(schedule.now), y1: AXIS_H - 6, y2: height - 14}),
    svg("text", {class: "now-label", x: x(schedule.now) + 3, y: height - 4, text: "now " + new Date(wall(schedule.now)).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"})}));
  return root;
}

export const productionView = {
  name: "production",
  title: "Production",
  refreshMs: 2000,
  render(main, ctx) {
    let shown = null; // version + width drawn
    const head = el("p", {role: "status"});
    const scale = el("select", {id: "gantt-scale", onchange: () => { shown = null; refresh(); }},
      [["1", "fit to the page"], ["2", "2× wider"], ["4", "4× wider"], ["8", "8× wider"]].map(([v, t]) => el("option", {value: v, text: t})));
    const chart = el("div", {class: "gantt-box scroll", tabindex: 0, role: "region", "aria-label": "Gantt chart, scrolls sideways"});
    const legend = el("div", {class: "legend", "aria-label": "Product families"});
    const late = el("div");
    main.append(section("Schedule", head, el("label", {class: "muted"}, "Scale ", scale), legend, chart), section("Late jobs", late));

    async function refresh() {
      const schedule = await get("/api/v1/plans/schedule");
      const width = Math.max(900, main.clientWidth - 60) * Number(scale.value);
      const drawn = schedule.version + "/" + width;
      if (drawn === shown) return;
      const orders = await getOptional("/api/v1/orders").catch(() => null);
      const families = familyIndex(orders);
      const count = Object.values(schedule.machines).reduce((n, ops) => n + ops.length, 0);
      head.textContent = schedule.version
        ? "Version " + schedule.version + ", made " + dateTime(schedule.made_ms) + " (" + (schedule.solver === "none" ? "nothing to plan" : schedule.status + ", " + schedule.solver) + ") after "
          + (schedule.triggers.map(t => t.kind.replaceAll("_", " ") + " " + t.key).join(", ") || "a request")
          + " · " + plural(count, "operation") + " · changeover " + number((schedule.changeover || 0) * schedule.time_unit_s / 60) + " min"
          + " · " + number(schedule.operations_moved || 0) + " moved by this re-plan"
        : "No schedule yet: it appears when orders are posted and machines have announced themselves.";
      chart.replaceChildren(count ? drawGantt(schedule, families, {width}) : notice("Nothing scheduled."));
      const colours = familyColours(families);
      const used = [...colours.keys()];
      legend.replaceChildren(...used.map(f => { const s = el("span", {text: f}); s.style.setProperty("--swatch", colours.get(f)); return s; }),
        used.length ? el("span", {class: "muted", text: "(others coloured by job) · hatched: changeover · red outline and !: late job · red line: now"}) : el("span", {class: "muted", text: "Coloured by job · hatched: changeover · red outline and !: late job · red line: now"}));
      late.replaceChildren(table("Jobs this schedule finishes after their due time", ["Job", "Due", "Finishes", "Why"],
        schedule.late_jobs.map(j => el("tr", {"data-testid": "late-row", "data-job": j.job_id}, el("td", {text: j.job_id}),
          el("td", {text: dateTime((schedule.epoch_s + j.due * schedule.time_unit_s) * 1000)}),
          el("td", {text: dateTime((schedule.epoch_s + j.completion * schedule.time_unit_s) * 1000)}),
          el("td", {text: lateWhy(j, schedule)}))), {empty: "no late job"}));
      shown = drawn;
      main.dataset.scheduleVersion = String(schedule.version);
    }
    return {refresh, dispose() {}};
  },
};
