// Routes: each vehicle's route from its depot through its stops in order, and where each
// vehicle is now (its agent's latest `lat` / `lon`), on a plain projection that needs no
// map tiles; what each van does under tours (out with its load, held at its depot until it
// fills or must leave or planned once more with new deliveries, returning, unloading what it
// brought back, idle); the stops listed; deliveries the routes leave out, with the reason.
//
// Places come from the held deliveries (`location` in degrees, else `x`, `y` in plan units),
// the declared fleet's depots (their `location`, else the network's warehouse holding that
// node) and the vehicles' agents. The drawing is in degrees when anything routed has a
// location, else in plan units; vehicles are drawn only in degrees (that is what they report).

import {get, getOptional} from "../api.js";
import {count, el, paletteColour, number, section, svg, table, dateTime, time} from "../dom.js";

const W = 900, H = 440, P = 70;
const VEHICLE_REFRESH_MS = 2000;
const NEAR_PX = 24;  // stops of one route closer than this on the map share a marker

/** Where the network's warehouses are, by the shelf node ids they hold. */
function warehousePlaces(network) {
  const places = new Map();
  for (const w of (network && network.warehouses) || []) for (const n of w.nodes || []) places.set(n, w.location);
  return places;
}

/** The latest position a vehicle agent reported, or null. */
function positionOf(node) {
  if (!node) return null;
  const at = Object.fromEntries(node.signals.map(s => [s.name, s]));
  if (!at.lat || !at.lon) return null;
  return {lat: at.lat.value, lon: at.lon.value, ts_ms: Math.max(at.lat.ts_ms, at.lon.ts_ms), stale: at.lat.stale};
}

/**
 * Every place to draw, in one plane: {frame, points: Map "kind:id" -> {id, kind, x, y, at},
 * left: stops of the other frame, not drawn}. Degrees become x = lon · cos(mean latitude),
 * y = lat, which keeps a city's shapes true.
 */
export function layoutPlaces({deliveries, depots, warehouses, vehicles}) {
  const geo = [], plan = [];
  for (const d of deliveries) {
    if (d.location) geo.push([d.id, "stop", d.location]); else plan.push([d.id, "stop", {x: d.x, y: d.y}]);
  }
  for (const d of depots) {
    const where = d.location || warehouses.get(d.id);
    if (where) geo.push([d.id, "depot", where]);
    plan.push([d.id, "depot", {x: d.x, y: d.y}]);
  }
  for (const [id, p] of vehicles) if (p) geo.push([id, "vehicle", p]);
  // Stops in degrees and in plan units cannot share a drawing: the frame most stops use wins.
  const stopsIn = (list) => list.filter(([, kind]) => kind === "stop").length;
  const frame = stopsIn(geo) >= stopsIn(plan) ? "degrees" : "plan units";
  const left = frame === "degrees" ? stopsIn(plan) : stopsIn(geo);
  const points = new Map();
  if (frame === "degrees") {
    const meanLat = geo.length ? geo.reduce((s, [, , p]) => s + p.lat, 0) / geo.length : 0;
    const k = Math.cos(meanLat * Math.PI / 180);
    for (const [id, kind, p] of geo) points.set(kind + ":" + id, {id, kind, x: p.lon * k, y: p.lat, at: p});
  } else {
    for (const [id, kind, p] of plan) points.set(kind + ":" + id, {id, kind, x: p.x, y: p.y, at: p});
  }
  return {frame, points, left};
}

function fitted(points) {
  const pts = [...points.values()];
  const minX = Math.min(...pts.map(p => p.x)), maxX = Math.max(...pts.map(p => p.x));
  const minY = Math.min(...pts.map(p => p.y)), maxY = Math.max(...pts.map(p => p.y));
  const span = Math.max(maxX - minX, (maxY - minY) * (W - 2 * P) / (H - 2 * P), 1e-9);
  const k = (W - 2 * P) / span;
  const dx = (W - 2 * P - (maxX - minX) * k) / 2, dy = (H - 2 * P - (maxY - minY) * k) / 2;  // centred
  return (p) => ({x: P + dx + (p.x - minX) * k, y: H - P - dy - (p.y - minY) * k});
}

/** A route's heading, marked in its colour on the map (CSSOM: the page's CSP has no inline styles). */
function routeHead(index, attrs) {
  const head = el("h3", {class: "route-head", ...attrs});
  head.style.borderLeftColor = paletteColour(index);
  return head;
}

/** What a van does, in words: why it left and when, or until when it waits. */
export function tourWhy(t) {
  if (t.state === "out") return t.reason ? "left " + time(t.departed_ms) + ", " + ({full: "full", dense: "full and dense", promise: "a promise due", waited: "its oldest stop waited long enough"}[t.reason] || t.reason) : "loaded by hand";
  if (t.state === "held") return (t.waits_for === "plan" ? "planned once more with new deliveries; leaves by " : "waits to fill; leaves by ") + time(t.leaves_by_ms);
  if (t.state === "unloading") return "unloading " + t.carrying.join(", ") + "; leaves once received";
  if (t.state === "returning") return "back to " + t.depot_id + (t.stops.length ? ", then " + t.stops.length + " stops" : "");
  return "nothing planned";
}

function tourRows(tours) {
  return tours.map(t => el("tr", {"data-testid": "tour-row", "data-vehicle": t.vehicle_id, "data-state": t.state},
    el("td", {class: "nowrap", text: t.vehicle_id}), el("td", {class: "nowrap", text: t.depot_id}), el("td", {class: "nowrap", text: t.state}),
    el("td", {class: "nowrap", text: t.load == null ? "–" : number(t.load) + " of " + number(t.capacity)}),
    el("td", {text: t.stops.join(", ") || "–"}), el("td", {text: tourWhy(t)})));
}

const CHAR_W = 7.2, LINE_H = 14;  // a label's size in the map's units (its 13px font)

function overlaps(a, b) { return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h; }

/**
 * Label the map without labels over labels or marks: each label, most important first,
 * takes the first of its places (right of its mark, left, above, below) that is inside
 * the map and clear of every mark and label placed before; one with no such place is left
 * out (its mark keeps the name as a tooltip, and the lists below the map name every stop).
 */
function placeLabels(root, labels, marks) {
  const taken = [...marks];
  for (const label of labels) {
    const w = CHAR_W * label.text.length, {x, y, r} = label;
    const places = [
      {x: x + r + 3, y: y - LINE_H / 2}, {x: x - r - 3 - w, y: y - LINE_H / 2},
      {x: x - w / 2, y: y - r - 2 - LINE_H}, {x: x - w / 2, y: y + r + 2},
    ];
    const box = places.map(q => ({...q, w, h: LINE_H}))
      .find(b => b.x >= 0 && b.y >= 0 && b.x + b.w <= W && b.y + b.h <= H && !taken.some(t => overlaps(b, t)));
    if (!box) continue;
    taken.push(box);
    label.parent.append(svg("text", {class: "label", x: box.x, y: box.y + LINE_H - 3, fill: "#1d2329", ...label.attrs, text: label.text}));
  }
}

/** Visiting numbers as short as they read: [1, 2, 3, 4, 7] → "1–4, 7". */
export function stopRuns(numbers) {
  const parts = [];
  for (let i = 0; i < numbers.length;) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) j++;
    parts.push(j - i >= 2 ? numbers[i] + "–" + numbers[j] : numbers.slice(i, j + 1).join(", "));
    i = j + 1;
  }
  return parts.join(", ");
}

/**
 * Where a mark of half-width `half` goes: at its place `q` when that is clear of the
 * `boxes` drawn before (another route's stop next door; for a van, the stop or depot it
 * is at), else the nearest clear spot around it inside the map (a line then joins it to
 * its place); at its place when none is.
 */
function clearOf(boxes, q, half) {
  const box = p => ({x: p.x - half, y: p.y - 10, w: 2 * half, h: 20});
  const free = p => {
    const b = box(p);
    return b.x >= 0 && b.y >= 0 && b.x + b.w <= W && b.y + b.h <= H && !boxes.some(t => overlaps(b, t));
  };
  if (free(q)) return q;
  for (const radius of [24, 40, 56, 72]) {
    for (let k = 0; k < 8; k++) {
      const angle = Math.PI / 2 + k * Math.PI / 4;  // below first, then round
      const p = {x: q.x + Math.cos(angle) * (radius + half - 10), y: q.y + Math.sin(angle) * radius};
      if (free(p)) return p;
    }
  }
  return q;
}

function drawRoutes(routes, layout) {
  if (!layout.points.size) return null;
  const at = fitted(layout.points);
  const root = svg("svg", {class: "routes", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": "Delivery routes of " + routes.length + " vehicles, in " + layout.frame});
  const marks = [], depotLabels = [], vehicleLabels = [], stopLabels = [];
  const mark = (x, y, w, h) => marks.push({x, y, w, h});
  const point = (kind, id) => layout.points.get(kind + ":" + id);
  const lines = svg("g", {class: "lines"});  // every route's line under every mark
  root.append(lines);
  routes.forEach((r, index) => {
    const colour = paletteColour(index);
    const line = [point("depot", r.depot_id), ...r.stops.map(id => point("stop", id))].filter(Boolean).map(at);
    if (line.length > 1) lines.append(svg("polyline", {points: line.map(p => p.x + "," + p.y).join(" "), fill: "none", stroke: colour, "stroke-width": 2.5, "stroke-linejoin": "round"}));
    // Stops at one place, or so near that their marks would overlap (orders to one address
    // or one street), share a marker: "2, 3" and both ids.
    const together = [];
    r.stops.forEach((id, i) => {
      const p = point("stop", id);
      if (!p) return;
      const q = at(p);
      const near = together.find(g => Math.hypot(g.q.x - q.x, g.q.y - q.y) < NEAR_PX);
      const group = near || {q, ids: [], numbers: []};
      if (!near) together.push(group);
      group.ids.push(id);
      group.numbers.push(i + 1);
    });
    for (const {q: at0, ids, numbers} of together) {
      const label = stopRuns(numbers);
      const half = 5 + 4 * label.length;
      const q = clearOf(marks, at0, half);  // (only stops are marked yet)
      const group = svg("g", {"data-testid": "map-stop", "data-stop": ids.join(" ")},
        svg("title", {text: ids.join(", ")}),
        q === at0 ? null : svg("line", {x1: at0.x, y1: at0.y, x2: q.x, y2: q.y, stroke: colour, "stroke-width": 1.5}),
        svg("rect", {x: q.x - half, y: q.y - 10, width: 2 * half, height: 20, rx: 10, fill: colour}),
        svg("text", {x: q.x, y: q.y + 4, "text-anchor": "middle", fill: "#fff", "font-weight": 700, text: label}));
      root.append(group);
      mark(q.x - half, q.y - 10, 2 * half, 20);
      stopLabels.push({x: q.x, y: q.y, r: half, parent: group, attrs: {},
        text: ids.length > 2 ? ids[0] + " +" + (ids.length - 1) : ids.join(", ")});
    }
  });
  const points = [...layout.points.values()];
  for (const p of points.filter(p => p.kind === "depot")) {
    const q = at(p);
    const group = svg("g", {"data-testid": "route-depot", "data-depot": p.id},
      svg("title", {text: p.id}),
      svg("rect", {x: q.x - 10, y: q.y - 10, width: 20, height: 20, rx: 3, fill: "#1d2329"}));
    root.append(group);
    mark(q.x - 10, q.y - 10, 20, 20);
    depotLabels.push({x: q.x, y: q.y, r: 10, parent: group, attrs: {"font-weight": 700}, text: p.id});
  }
  // A van at a stop or at its depot would hide that mark: it is drawn beside it, on a line
  // to where it is.
  for (const p of points.filter(p => p.kind === "vehicle")) {
    const at0 = at(p);
    const q = clearOf(marks, at0, 10);
    const index = routes.findIndex(r => r.vehicle_id === p.id);
    const colour = index >= 0 ? paletteColour(index) : "#5b6670";
    const group = svg("g", {"data-testid": "route-vehicle", "data-vehicle": p.id, "data-lat": p.at.lat, "data-lon": p.at.lon,
      class: p.at.stale ? "stale" : ""},
      svg("title", {text: p.id}),
      q === at0 ? null : svg("line", {x1: at0.x, y1: at0.y, x2: q.x, y2: q.y, stroke: colour, "stroke-width": 1.5}),
      svg("polygon", {points: `${q.x},${q.y - 10} ${q.x + 10},${q.y + 10} ${q.x - 10},${q.y + 10}`, fill: colour, stroke: "#fff", "stroke-width": 2}));
    root.append(group);
    mark(q.x - 10, q.y - 10, 20, 20);
    vehicleLabels.push({x: q.x, y: q.y, r: 11, parent: group, attrs: {"font-style": "italic"}, text: p.id});
  }
  placeLabels(root, [...depotLabels, ...vehicleLabels, ...stopLabels], marks);
  return root;
}

export const routesView = {
  name: "routes",
  title: "Routes",
  refreshMs: VEHICLE_REFRESH_MS,
  render(main) {
    const head = el("p", {role: "status"});
    const mapBox = el("div"), legend = el("p", {class: "muted"}), listBox = el("div"), unservedBox = el("div"), toursBox = el("div");
    main.append(section("Delivery routes", head, mapBox, legend), section("Vans", toursBox), section("Stops in order", listBox), section("Unserved deliveries", unservedBox));
    return {
      async refresh() {
        const [routes, orders, fleet, network] = await Promise.all([
          get("/api/v1/plans/routes"),
          getOptional("/api/v1/orders").catch(() => null),
          getOptional("/api/v1/plans/fleet").catch(() => null),
          getOptional("/api/v1/network").catch(() => null),
        ]);
        const vehicleIds = [...new Set([...((fleet && fleet.vehicles) || []).map(v => v.id), ...routes.routes.map(r => r.vehicle_id)])];
        // Only vehicles with an agent of their own report where they are.
        const agents = new Set((await get("/api/v1/nodes?kind=vehicle")).map(n => n.node));
        const nodes = await Promise.all(vehicleIds.map(id => agents.has(id) ? get("/api/v1/nodes/" + encodeURIComponent(id)) : null));
        const vehicles = new Map(vehicleIds.map((id, i) => [id, positionOf(nodes[i])]));
        const layout = layoutPlaces({
          deliveries: (orders && orders.deliveries) || [],
          depots: (fleet && fleet.depots) || [],
          warehouses: warehousePlaces(network),
          vehicles,
        });
        head.textContent = routes.version
          ? "Version " + routes.version + ", made " + dateTime(routes.made_ms) + " (" + routes.solver + "), "
            + count(routes.routes.length, "vehicle") + ", total distance " + number(routes.total_distance)
          : "No routes yet: they appear when deliveries are posted and a fleet is declared.";
        const drawing = drawRoutes(routes.routes, layout);
        mapBox.replaceChildren(...(drawing ? [drawing] : []));
        const located = [...vehicles.values()].filter(Boolean).length;
        legend.textContent = drawing
          ? "Squares: depots · numbered marks: stops in visiting order · triangles: vehicles where they last reported ("
            + located + " of " + vehicleIds.length + " report a position) · drawn in " + layout.frame + ", no map tiles needed"
            + (layout.left ? "; " + layout.left + " stops located in " + (layout.frame === "degrees" ? "plan units" : "degrees") + " are listed below, not drawn." : ".")
          : "";
        listBox.replaceChildren(...(routes.routes.length ? routes.routes.map((r, index) => el("div", {class: "route", "data-vehicle": r.vehicle_id},
          routeHead(index, {text: r.vehicle_id + " from " + r.depot_id + " · load " + number(r.load) + " · distance " + number(r.distance)}),
          el("ol", {class: "stops"}, r.stops.map((id, i) => el("li", {"data-testid": "route-stop", "data-stop": id, "data-index": i + 1, text: id})))))
          : [el("p", {class: "muted", text: "No route planned."})]));
        toursBox.replaceChildren(table("What each van does: out with what it carries, held at its depot until its tour fills or must leave, returning, unloading what it brought back, idle",
          ["Van", "Depot", "State", "Load", "Stops", "Why"], tourRows(routes.tours || []),
          {empty: "no tours: dispatch_tours is off, or no fleet is declared"}));
        unservedBox.replaceChildren(table("Deliveries no vehicle takes, and why", ["Delivery", "Why"],
          routes.unserved.map(u => el("tr", {}, el("td", {text: u.order_id}), el("td", {text: u.reason.replaceAll("_", " ") + (u.detail ? ": " + u.detail : "")}))),
          {empty: "every delivery is routed"}));
      },
      dispose() {},
    };
  },
};
