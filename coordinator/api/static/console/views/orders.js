// Orders: customer orders (status, promise against ETA, each one's timeline), then the
// production jobs and deliveries the coordinator holds, each with its promise
// (due time) against its planned finish (the schedule's last operation of the job, or the
// vehicle and stop of the delivery in the routes). A status field from the orders API
// is shown as given; until it has one, a job's progress from /api/v1/jobs (started,
// finished, short, with good and scrap units), else the status derived from the plans.

import {get, getOptional} from "../api.js";
import {dateTime, el, section, table} from "../dom.js";

function planIndex(schedule, routes) {
  const finish = new Map();
  if (schedule) {
    for (const ops of Object.values(schedule.machines)) {
      for (const o of ops) finish.set(o.job_id, Math.max(finish.get(o.job_id) ?? -Infinity, o.end));
    }
  }
  const onRoute = new Map();
  for (const r of (routes && routes.routes) || []) r.stops.forEach((id, i) => onRoute.set(id, {vehicle: r.vehicle_id, stop: i + 1, of: r.stops.length}));
  const unserved = new Map(((routes && routes.unserved) || []).map(u => [u.order_id, u]));
  const late = new Map(((schedule && schedule.late_jobs) || []).map(j => [j.job_id, j]));
  return {finish, onRoute, unserved, late};
}

export const ordersView = {
  name: "orders",
  title: "Orders",
  render(main) {
    const salesBox = el("div"), timelineBox = el("div"), jobsBox = el("div"), deliveriesBox = el("div");
    let chosen = null;
    main.append(section("Customer orders", salesBox, timelineBox), section("Production jobs", jobsBox), section("Deliveries", deliveriesBox));

    async function showTimeline(id) {
      chosen = id;
      const order = await get("/api/v1/sales-orders/" + encodeURIComponent(id));
      if (chosen !== id) return;
      timelineBox.replaceChildren(el("h3", {text: "Timeline of " + order.id + " (" + order.customer + ")"}),
        el("ol", {class: "timeline"}, (order.timeline || []).map(t => el("li", {
          text: dateTime(t.at_ms) + " · " + String(t.status).replaceAll("_", " ") + " · " + t.actor + (t.cause ? " (" + t.cause + ")" : "") + (t.reason ? ": " + t.reason : "")}))),
        el("p", {class: "muted", text: "promised " + dateTime(order.promise.promised_ms) + " · ETA " + dateTime(order.promise.eta_ms)
          + (order.promise.bound_by ? " · bound by " + order.promise.bound_by : "")}));
    }
    return {
      async refresh() {
        const [orders, schedule, routes, progress, sales] = await Promise.all([
          getOptional("/api/v1/orders"), get("/api/v1/plans/schedule").catch(() => null), get("/api/v1/plans/routes").catch(() => null),
          getOptional("/api/v1/jobs?limit=1000").catch(() => null), getOptional("/api/v1/sales-orders?limit=1000").catch(() => null)]);
        salesBox.replaceChildren(table("Customer orders: promise against the current ETA, or when delivered", ["Order", "Customer", "Status", "Service", "Lines", "Promised", "ETA / delivered", ""],
          ((sales && sales.orders) || []).map(o => {
            const p = o.promise || {};
            // a delivered order shows when it was (its last change), else the current ETA
            const delivered = o.status === "delivered";
            const when = delivered ? o.updated_ms : p.eta_ms;
            const slipping = when && p.promised_ms && when > p.promised_ms;
            return el("tr", {"data-testid": "order-row", "data-order": o.id},
              el("td", {text: o.id}), el("td", {text: o.customer}),
              el("td", {class: o.status === "delayed" || o.status === "failed_delivery" ? "off" : "", text: o.status.replaceAll("_", " ") + (o.delayed_from ? " (from " + o.delayed_from.replaceAll("_", " ") + ")" : "")}),
              el("td", {text: o.service}), el("td", {class: "num", text: o.lines.length}),
              el("td", {text: dateTime(p.promised_ms)}), el("td", {class: slipping ? "off" : "", "data-testid": "order-when", text: (delivered ? "delivered " : "") + dateTime(when) + (slipping ? " (late)" : "")}),
              el("td", {}, el("button", {type: "button", class: "quiet", text: "Timeline", "aria-label": "Timeline of order " + o.id, onclick: () => showTimeline(o.id)})));
          }), {empty: sales ? "No customer order yet." : "Sales orders are not taken on this coordinator."}));
        const tracked = new Map(((progress && progress.jobs) || []).map(j => [j.id, j]));
        const plan = planIndex(schedule, routes);
        const wall = (t) => schedule ? (schedule.epoch_s + t * schedule.time_unit_s) * 1000 : null;
        const jobs = (orders && orders.jobs) || [];
        const deliveries = (orders && orders.deliveries) || [];
        jobsBox.replaceChildren(table("Held production jobs: promise against the planned finish", ["Job", "Status", "Rush", "Operations", "Promised", "Planned finish", "Source"],
          jobs.map(j => {
            const end = plan.finish.get(j.id);
            const lateJob = plan.late.get(j.id);
            const made = tracked.get(j.id);
            const planned = lateJob ? "late (" + lateJob.reason.replaceAll("_", " ") + ")" : end !== undefined ? "planned" : "waiting for a plan";
            const status = j.status || (made && made.state !== "planned"
              ? made.state + " · " + made.good + (made.quantity ? " of " + made.quantity : "") + " good" + (made.scrap ? ", " + made.scrap + " scrap" : "") + (lateJob ? " · late" : "")
              : planned);
            return el("tr", {"data-testid": "order-row", "data-order": j.id},
              el("td", {text: j.id}), el("td", {class: lateJob ? "off" : "", text: status}), el("td", {text: j.rush ? "rush" : ""}),
              el("td", {class: "num", text: j.operations.length}), el("td", {text: j.due_ms ? dateTime(j.due_ms) : "no due time"}),
              el("td", {text: end !== undefined ? dateTime(wall(end)) : "–"}),
              el("td", {text: j.replenishment ? "replenishes " + j.replenishment.sku + " at " + j.replenishment.location : "operator"}));
          }), {empty: orders ? "No production job held." : "This coordinator has no orders API."}));
        deliveriesBox.replaceChildren(table("Held deliveries and where the routes put them", ["Delivery", "Status", "Demand", "Window", "Vehicle and stop"],
          deliveries.map(d => {
            const at = plan.onRoute.get(d.id);
            const blocked = plan.unserved.get(d.id);
            return el("tr", {"data-testid": "order-row", "data-order": d.id},
              el("td", {text: d.id}), el("td", {class: blocked ? "off" : "", text: d.status || (at ? "routed" : blocked ? "unserved: " + blocked.reason.replaceAll("_", " ") : "waiting for a plan")}),
              el("td", {class: "num", text: d.demand}),
              el("td", {text: (d.ready_ms ? dateTime(d.ready_ms) : "any time") + " → " + (d.due_ms ? dateTime(d.due_ms) : "open")}),
              el("td", {text: at ? at.vehicle + ", stop " + at.stop + " of " + at.of : "–"}));
          }), {empty: "No delivery held."}));
      },
      dispose() {},
    };
  },
};
