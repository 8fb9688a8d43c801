// Building the page from API data: every value is written as text (textContent or an
// attribute), never parsed as HTML, so nothing an agent or operator sends can run here.

import {serverNow} from "./clock.js";

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(node, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.setAttribute("class", value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An HTML element: el("td", {class: "num", text: 3}) or el("tr", {}, cell1, cell2). */
export function el(tag, attrs, ...children) {
  return append(apply(document.createElement(tag), attrs), children);
}

/** An SVG element, same calling convention. */
export function svg(tag, attrs, ...children) {
  return append(apply(document.createElementNS(SVG_NS, tag), attrs), children);
}

export function clear(node) { node.replaceChildren(); return node; }

export function table(caption, headings, rows, {empty = "nothing yet", className = ""} = {}) {
  const body = el("tbody", {}, rows);
  if (!rows.length) body.append(el("tr", {}, el("td", {colspan: headings.length, class: "muted", text: empty})));
  return el("table", {class: className},
    el("caption", {text: caption}),
    el("thead", {}, el("tr", {}, headings.map(h => el("th", {scope: "col", text: h})))),
    body);
}

export function section(title, ...children) {
  return el("section", {class: "panel", "aria-label": title}, el("h2", {text: title}), ...children);
}

export function time(ms) { return ms ? new Date(ms).toLocaleTimeString() : "–"; }
export function dateTime(ms) { return ms ? new Date(ms).toLocaleString() : "–"; }

export function ago(ms, now = serverNow()) {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}

/** "1 late job", "3 late jobs": a count with its noun, the noun in the plural unless 1. */
export function count(n, noun, plural = noun + "s") {
  return number(n) + " " + (Number(n) === 1 ? noun : plural);
}

export function number(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString(undefined, {maximumFractionDigits: digits, minimumFractionDigits: 0});
}

// A categorical palette (dark enough for white text on it) for small ordered sets: the
// vehicles of the routes, the product families of the schedule.
const PALETTE = ["#1f5f9e", "#b34a12", "#2f7d32", "#7b3fa0", "#a3243b", "#00727a", "#8a6100", "#4a5a6a", "#b02a7a", "#3d5d0f"];

export function paletteColour(index) { return PALETTE[index % PALETTE.length]; }

/** A stable colour for a key (product family, job, vehicle): a hue from its hash. */
export function colourOf(key) {
  let h = 0;
  for (const ch of String(key)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return "hsl(" + (h % 360) + " 50% 34%)";
}

export function notice(text, kind = "info") {
  return el("p", {class: "notice " + kind, role: kind === "error" ? "alert" : "status", text});
}
