// Fleet: the map of nodes (liveness at a glance; placed geographically when the supply
// network gives every node's factory or warehouse a location), every node's counters, and for the
// chosen node its latest values, a chart per signal over the last hour with the times
// its anomaly alarms were raised marked, and the commands it was sent.

import {get, getOptional} from "../api.js";
import {columns, signalChart} from "../charts.js";
import {serverNow} from "../clock.js";
import {ago, el, notice, number, section, table, time} from "../dom.js";
import {drawMap} from "../map.js";

const HOUR_MS = 3600_000;
const MAX_CHARTS = 8;

/**
 * Agents send a value again only when it moves past its deadband, so a value holds until
 * the next one: the series is extended to now with the latest value (and drawn from it
 * alone when the hour holds no sample).
 */
function heldUntilNow(points, latest) {
  const held = points.length ? [...points] : [{ts_ms: Math.max(latest.ts_ms, serverNow() - HOUR_MS), value: latest.value}];
  const last = held[held.length - 1];
  const now = serverNow();
  if (!latest.stale && now > last.ts_ms) held.push({ts_ms: now, value: last.value});
  return held;
}

/**
 * Where each node is, from the supply network (`GET /api/v1/network`): a factory's
 * machines and a warehouse's nodes take its location. Empty without a network.
 */
function placesOf(network) {
  const places = new Map();
  for (const f of (network && network.factories) || []) for (const m of f.machines || []) places.set(m, {...f.location, place: f.id});
  for (const w of (network && network.warehouses) || []) for (const n of w.nodes || []) places.set(n, {...w.location, place: w.id});
  return places;
}

function state(n) { return n.online ? "online" : "offline (" + (n.offline_reason || "unknown") + ")"; }

export const fleetView = {
  name: "fleet",
  title: "Fleet",
  render(main, ctx) {
    let nodes = [];
    let selected = null; // "site/node"
    let charts = new Map(); // signal -> {plot, markers}
    let anomalies = [];
    const mapBox = el("div");
    const legend = el("p", {class: "legend"});
    const tableBox = el("div");
    const detail = el("div");
    main.append(
      el("div", {class: "grid"}, section("Map", mapBox, legend), section("Selected node", detail)),
      section("Nodes", tableBox));
    detail.append(el("p", {class: "muted", text: "Choose a node on the map or in the table to see its signals."}));

    function select(n) {
      selected = n.site + "/" + n.node;
      for (const c of charts.values()) c.plot.destroy();
      charts = new Map();
      drawNodes();
      loadDetail().catch(error => detail.replaceChildren(notice(String(error.message || error), "error")));
    }

    function drawNodes() {
      mapBox.replaceChildren(drawMap(nodes, {tileUrl: ctx.session.tile_url, selected, onSelect: select}));
      const online = nodes.filter(n => n.online).length;
      legend.replaceChildren(
        el("span", {text: "● circle machine · ■ square warehouse · ▲ triangle vehicle"}),
        el("span", {class: "on", text: online + " online"}),
        el("span", {class: "off", text: (nodes.length - online) + " offline"}));
      tableBox.replaceChildren(table("Every node with its liveness and message counters",
        ["Site", "Node", "Kind", "State", "Last seen", "bd_seq", "Last seq", "Samples", "Gaps", "Lost", "Duplicates"],
        nodes.map(n => {
          const key = n.site + "/" + n.node;
          return el("tr", {"data-testid": "node-row", "data-node": key, class: "clickable" + (key === selected ? " selected" : ""), onclick: () => select(n)},
            el("td", {text: n.site}),
            el("td", {}, el("button", {type: "button", class: "quiet", text: n.node, "aria-label": "Show node " + n.node, onclick: (e) => { e.stopPropagation(); select(n); }})),
            el("td", {text: n.kind}), el("td", {class: n.online ? "on" : "off", text: state(n)}),
            el("td", {text: ago(n.last_seen_ms)}), el("td", {class: "num", text: n.bd_seq ?? "–"}), el("td", {class: "num", text: n.last_seq ?? "–"}),
            el("td", {class: "num", text: number(n.counters.samples)}), el("td", {class: "num", text: n.counters.gaps_seen}),
            el("td", {class: "num", text: n.counters.lost}), el("td", {class: "num", text: n.counters.duplicates}));
        }), {empty: "No node has announced itself yet."}));
    }

    async function loadDetail() {
      if (!selected) return;
      const [site, node] = selected.split("/");
      const q = "?site=" + encodeURIComponent(site);
      const base = "/api/v1/nodes/" + encodeURIComponent(node);
      const since = serverNow() - HOUR_MS;
      const [info, alarms, commands] = await Promise.all([
        get(base + q),
        get("/api/v1/alarms?site=" + encodeURIComponent(site) + "&since_ms=" + since + "&limit=1000"),
        get("/api/v1/commands?site=" + encodeURIComponent(site) + "&node=" + encodeURIComponent(node) + "&limit=10"),
      ]);
      if (selected !== site + "/" + node) return;
      anomalies = alarms.filter(a => a.source === node || a.source.startsWith(node + "/"));
      const signals = info.signals.filter(s => typeof s.value === "number").slice(0, MAX_CHARTS);
      const series = await Promise.all(signals.map(s =>
        get(base + "/telemetry" + q + "&signal=" + encodeURIComponent(s.name) + "&start=" + since + "&limit=3000")));
      if (selected !== site + "/" + node) return;

      if (!detail.querySelector(".chart-grid") || detail.dataset.node !== selected) {
        detail.dataset.node = selected;
        for (const c of charts.values()) c.plot.destroy();
        charts = new Map();
        const grid = el("div", {class: "chart-grid"});
        detail.replaceChildren(el("p", {class: "node-head"}), el("div", {class: "latest"}), grid, el("div", {class: "commands"}));
        const width = Math.max(380, Math.min(560, grid.clientWidth || 520));
        signals.forEach((s) => {
          const box = el("div", {class: "chart", "data-testid": "signal-chart", "data-signal": s.name}, el("h3", {text: s.name + (s.unit ? " (" + s.unit + ")" : "")}));
          grid.append(box);
          const markers = () => anomalies.filter(a => a.source === node + "/" + s.name || a.source === node).map(a => ({ts_ms: a.start_ms}));
          charts.set(s.name, {plot: signalChart(box, {label: s.name, unit: s.unit, width}, markers)});
        });
        if (!signals.length) grid.append(el("p", {class: "muted", text: "This node reports no numeric signal."}));
      }
      signals.forEach((s, i) => {
        const c = charts.get(s.name);
        if (c) c.plot.setData(columns(heldUntilNow(series[i].points, s)));
      });

      detail.querySelector(".node-head").textContent = info.kind + " " + info.node + " at " + info.site + " · " + state(info)
        + " · firmware " + info.firmware + " · last seen " + ago(info.last_seen_ms) + " · " + anomalies.length + " alarms in the last hour (red marks)";
      detail.querySelector(".latest").replaceChildren(table("Latest values", ["Signal", "Value", "At"],
        info.signals.map(s => el("tr", {}, el("td", {text: s.name}),
          el("td", {class: "num", text: (typeof s.value === "number" ? number(s.value, 3) : String(s.value)) + (s.unit ? " " + s.unit : "") + (s.stale ? " (stale)" : "")}),
          el("td", {text: time(s.ts_ms)}))), {empty: "no values yet"}));
      detail.querySelector(".commands").replaceChildren(table("Latest commands sent to this node", ["Command", "Sent", "State", "Answer"],
        commands.map(c => el("tr", {}, el("td", {text: c.name}), el("td", {text: time(c.sent_ms)}),
          el("td", {class: c.state === "ok" ? "on" : c.state === "sent" ? "" : "off", text: c.state}), el("td", {text: c.reason || "–"}))),
        {empty: "none"}));
    }

    return {
      async refresh() {
        const [listed, network] = await Promise.all([get("/api/v1/nodes"), getOptional("/api/v1/network").catch(() => null)]);
        const places = placesOf(network);
        nodes = listed.map(n => (places.has(n.node) ? {...n, location: places.get(n.node)} : n));
        drawNodes();
        if (selected) await loadDetail();
      },
      dispose() { for (const c of charts.values()) c.plot.destroy(); },
    };
  },
};
