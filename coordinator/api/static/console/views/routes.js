// Routes: each vehicle's stops in order, drawn where the deliveries are (their x, y from
// the held orders, in plan units of driving) and listed; deliveries the routes leave out
// with the reason.

import {get, getOptional} from "../api.js";
import {el, paletteColour, number, section, svg, table, dateTime} from "../dom.js";

function drawRoutes(routes, places) {
  const pts = [...places.values()];
  if (!pts.length) return null;
  const W = 900, H = 420, P = 30;
  const minX = Math.min(...pts.map(p => p.x)), maxX = Math.max(...pts.map(p => p.x));
  const minY = Math.min(...pts.map(p => p.y)), maxY = Math.max(...pts.map(p => p.y));
  const k = Math.min((W - 2 * P) / Math.max(1, maxX - minX), (H - 2 * P) / Math.max(1, maxY - minY));
  const at = (p) => ({x: P + (p.x - minX) * k, y: H - P - (p.y - minY) * k});
  const root = svg("svg", {class: "routes", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Delivery routes: " + routes.length + " vehicles"});
  routes.forEach((r, index) => {
    const colour = paletteColour(index);
    const line = r.stops.map(id => places.get(id)).filter(Boolean).map(at);
    if (line.length > 1) root.append(svg("polyline", {points: line.map(p => p.x + "," + p.y).join(" "), fill: "none", stroke: colour, "stroke-width": 2.5}));
    r.stops.forEach((id, i) => {
      const p = places.get(id);
      if (!p) return;
      const q = at(p);
      root.append(svg("circle", {cx: q.x, cy: q.y, r: 9, fill: colour}),
        svg("text", {x: q.x, y: q.y + 4, "text-anchor": "middle", fill: "#fff", "font-weight": 700, text: i + 1}),
        svg("text", {x: q.x + 12, y: q.y - 8, fill: "#1d2329", text: id}));
    });
  });
  return root;
}

export const routesView = {
  name: "routes",
  title: "Routes",
  render(main) {
    const head = el("p", {role: "status"});
    const mapBox = el("div"), listBox = el("div"), unservedBox = el("div");
    main.append(section("Delivery routes", head, mapBox), section("Stops in order", listBox), section("Unserved deliveries", unservedBox));
    return {
      async refresh() {
        const [routes, orders] = await Promise.all([get("/api/v1/plans/routes"), getOptional("/api/v1/orders").catch(() => null)]);
        const places = new Map(((orders && orders.deliveries) || []).map(d => [d.id, {x: d.x, y: d.y}]));
        head.textContent = routes.version
          ? "Version " + routes.version + ", made " + dateTime(routes.made_ms) + " (" + routes.solver + "), " + routes.routes.length
            + " vehicles, total distance " + number(routes.total_distance)
          : "No routes yet: they appear when deliveries are posted and a fleet is declared.";
        const drawing = drawRoutes(routes.routes, places);
        mapBox.replaceChildren(...(drawing ? [drawing] : []));
        listBox.replaceChildren(...(routes.routes.length ? routes.routes.map(r => el("div", {class: "route", "data-vehicle": r.vehicle_id},
          el("h3", {text: r.vehicle_id + " from " + r.depot_id + " · load " + number(r.load) + " · distance " + number(r.distance)}),
          el("ol", {class: "stops"}, r.stops.map((id, i) => el("li", {"data-testid": "route-stop", "data-stop": id, "data-index": i + 1, text: id})))))
          : [el("p", {class: "muted", text: "No route planned."})]));
        unservedBox.replaceChildren(table("Deliveries no vehicle takes, and why", ["Delivery", "Why"],
          routes.unserved.map(u => el("tr", {}, el("td", {text: u.order_id}), el("td", {text: u.reason.replaceAll("_", " ") + (u.detail ? ": " + u.detail : "")}))),
          {empty: "every delivery is routed"}));
      },
      dispose() {},
    };
  },
};
