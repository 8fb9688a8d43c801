// The fleet map in SVG, without tiles: nodes that report no position are laid out by
// site (one block per site; machines, warehouses and vehicles in rows), each with its
// label (up to COMPACT_FROM nodes). When every node has a `location: {lat, lon}` (the fleet view takes it from the
// supply network), they are drawn on a Web Mercator projection, over tiles only when the
// coordinator has a tile URL configured (`console_tile_url`).

import {svg} from "./dom.js";

const SHAPES = {machine: "circle", warehouse: "square", vehicle: "triangle"};
const PAD = 24, HEAD = 30;
// Large fleets are drawn compact: small cells, no labels (each node keeps its title and
// accessible name), site blocks side by side.
const COMPACT_FROM = 120;
const CELLS = {full: {w: 96, h: 46, perRow: 12}, compact: {w: 26, h: 24, perRow: 24}};
const TILE = 256;

function shape(kind, x, y, online) {
  const cls = online ? "fill-on" : "fill-off";
  const fill = online ? "#1a7f37" : "#b42318";
  const common = {class: cls, fill, stroke: "#fff", "stroke-width": 1.5};
  switch (SHAPES[kind] || "circle") {
    case "square": return svg("rect", {...common, x: x - 7, y: y - 7, width: 14, height: 14, rx: 2});
    case "triangle": return svg("path", {...common, d: `M${x} ${y - 8}L${x + 8} ${y + 6}L${x - 8} ${y + 6}Z`});
    default: return svg("circle", {...common, cx: x, cy: y, r: 7});
  }
}

function kindOrder(kind) { return kind === "machine" ? 0 : kind === "warehouse" ? 1 : kind === "vehicle" ? 2 : 3; }

/** Positions by site blocks: {key -> {x, y}} and the drawing's size and site frames. */
export function layoutBySite(nodes) {
  const compact = nodes.length >= COMPACT_FROM;
  const cell = compact ? CELLS.compact : CELLS.full;
  const sites = new Map();
  for (const n of [...nodes].sort((a, b) => a.site.localeCompare(b.site) || kindOrder(a.kind) - kindOrder(b.kind) || a.node.localeCompare(b.node))) {
    if (!sites.has(n.site)) sites.set(n.site, []);
    sites.get(n.site).push(n);
  }
  const positions = new Map();
  const frames = [];
  // As many columns as the largest group of one kind at one site needs, up to perRow.
  const groups = new Map();
  for (const n of nodes) groups.set(n.site + "/" + n.kind, (groups.get(n.site + "/" + n.kind) || 0) + 1);
  const perRow = Math.max(4, Math.min(cell.perRow, ...groups.values()));
  const blockW = PAD + perRow * cell.w;
  const across = compact && sites.size > 1 ? 2 : 1; // site blocks per line
  let y = PAD, lineHeight = 0, index = 0;
  for (const [site, members] of sites) {
    const x0 = PAD / 2 + (index % across) * (blockW + PAD / 2);
    let row = 0, col = 0, lastKind = null;
    for (const n of members) {
      if (lastKind !== null && (n.kind !== lastKind || col === perRow)) { row += 1; col = 0; }
      lastKind = n.kind;
      positions.set(n.site + "/" + n.node, {x: x0 + PAD / 2 + col * cell.w + cell.w / 2, y: y + HEAD + row * cell.h + 14});
      col += 1;
    }
    const height = HEAD + (row + 1) * cell.h;
    frames.push({site, x: x0, y, width: blockW, height});
    lineHeight = Math.max(lineHeight, height);
    index += 1;
    if (index % across === 0) { y += lineHeight + PAD; lineHeight = 0; }
  }
  if (lineHeight) y += lineHeight + PAD;
  return {positions, frames, compact, cell, width: PAD + across * (blockW + PAD / 2), height: Math.max(y, 120)};
}

function mercator(lat, lon, zoom) {
  const scale = TILE * 2 ** zoom;
  const s = Math.sin(Math.max(-85, Math.min(85, lat)) * Math.PI / 180);
  return {x: (lon + 180) / 360 * scale, y: (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale};
}

/** Positions on Web Mercator for nodes with a location, fitted into `width`. */
function layoutGeographic(nodes, width) {
  const placed = nodes.filter(n => n.location && Number.isFinite(n.location.lat) && Number.isFinite(n.location.lon));
  let zoom = 18;
  for (; zoom > 1; zoom -= 1) {
    const pts = placed.map(n => mercator(n.location.lat, n.location.lon, zoom));
    const spanX = Math.max(...pts.map(p => p.x)) - Math.min(...pts.map(p => p.x));
    const spanY = Math.max(...pts.map(p => p.y)) - Math.min(...pts.map(p => p.y));
    if (spanX < width * 0.7 && spanY < width * 0.4) break;
  }
  // Nodes at one place (a factory's machines) sit on a small ring around it.
  const together = new Map();
  for (const n of placed) {
    const key = n.location.lat + "," + n.location.lon;
    together.set(key, [...(together.get(key) || []), n]);
  }
  const pts = [];
  const centres = [];
  for (const group of together.values()) {
    const c = mercator(group[0].location.lat, group[0].location.lon, zoom);
    centres.push({label: group[0].location.place, x: c.x, y: c.y, ring: group.length > 1 ? 22 + 4 * group.length : 0});
    group.forEach((n, i) => {
      const p = c;
      const r = group.length > 1 ? 22 + 4 * group.length : 0;
      const a = (2 * Math.PI * i) / group.length;
      pts.push([n, {x: p.x + r * Math.cos(a), y: p.y + r * Math.sin(a)}]);
    });
  }
  // The drawing is cut to the nodes with a margin, so a small region is not a speck.
  const minX = Math.min(...pts.map(([, p]) => p.x)) - 110;
  const minY = Math.min(...pts.map(([, p]) => p.y)) - 80;
  const positions = new Map(pts.map(([n, p]) => [n.site + "/" + n.node, {x: p.x - minX, y: p.y - minY}]));
  const fitted = Math.max(420, Math.max(...pts.map(([, p]) => p.x)) - minX + 110);
  const height = Math.max(260, Math.max(...pts.map(([, p]) => p.y)) - minY + 60);
  const places = centres.map(c => ({label: c.label, x: c.x - minX, y: c.y - minY - c.ring - 16}));
  return {positions, frames: [], places, width: fitted, height, zoom, origin: {x: minX, y: minY}};
}

function tiles(tileUrl, layout) {
  const out = [];
  const {zoom, origin, width, height} = layout;
  const max = 2 ** zoom;
  for (let tx = Math.floor(origin.x / TILE); tx * TILE < origin.x + width; tx++) {
    for (let ty = Math.floor(origin.y / TILE); ty * TILE < origin.y + height; ty++) {
      if (ty < 0 || ty >= max) continue;
      const href = tileUrl.replace("{z}", zoom).replace("{x}", ((tx % max) + max) % max).replace("{y}", ty);
      out.push(svg("image", {href, x: tx * TILE - origin.x, y: ty * TILE - origin.y, width: TILE, height: TILE}));
    }
  }
  return out;
}

/**
 * The map as an SVG element; `onSelect(node)` when a node is clicked or chosen with the
 * keyboard. Each node is a `map-node` with its label.
 */
export function drawMap(nodes, {tileUrl = "", selected = null, onSelect}) {
  const geographic = nodes.length > 0 && nodes.every(n => n.location && Number.isFinite(n.location.lat));
  const layout = geographic ? layoutGeographic(nodes, 1100) : layoutBySite(nodes);
  const root = svg("svg", {class: "map", viewBox: `0 0 ${layout.width} ${layout.height}`, role: "group",
    "aria-label": "Map of " + nodes.length + " nodes" + (geographic ? " at their places in the supply network" : ", laid out by site")});
  if (geographic && tileUrl) root.append(svg("g", {class: "tiles", "aria-hidden": "true"}, tiles(tileUrl, layout)));
  for (const p of layout.places || []) {
    if (p.label) root.append(svg("text", {class: "site-label", x: p.x, y: p.y, "text-anchor": "middle", text: p.label}));
  }
  for (const f of layout.frames) {
    root.append(svg("rect", {class: "site", x: f.x, y: f.y, width: f.width, height: f.height, rx: 6}),
      svg("text", {class: "site-label", x: f.x + 10, y: f.y + 19, text: "site " + f.site}));
  }
  const hitW = layout.compact ? layout.cell.w - 2 : 88;
  for (const n of nodes) {
    const p = layout.positions.get(n.site + "/" + n.node);
    if (!p) continue;
    const key = n.site + "/" + n.node;
    const state = n.online ? "online" : "offline";
    const g = svg("g", {class: "map-node", "data-testid": "map-node", "data-node": key, tabindex: 0, role: "button",
      "aria-label": n.kind + " " + n.node + " at " + n.site + ", " + state, "aria-pressed": String(selected === key),
      onclick: () => onSelect(n), onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onSelect(n); } }},
    svg("title", {text: n.kind + " " + key + " · " + state}),
    svg("rect", {class: "hit", x: p.x - hitW / 2, y: p.y - 12, width: hitW, height: layout.compact ? 24 : 38, fill: "transparent"}),
    shape(n.kind, p.x, p.y, n.online),
    layout.compact ? null : svg("text", {class: "node-label", x: p.x, y: p.y + 21, "text-anchor": "middle", text: n.node}));
    if (selected === key) g.prepend(svg("circle", {cx: p.x, cy: p.y, r: 13, fill: "none", stroke: "#1f4e79", "stroke-width": 2.5}));
    root.append(g);
  }
  return root;
}
