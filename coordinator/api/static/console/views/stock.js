// Stock: every SKU at every micro-warehouse with its demand forecast (the P10–P90 band
// and the median, per day) and its stock-out risk from the stock cover check: when the
// stock runs out under P90 and mean demand, and the replenishment it proposes. Rows at
// risk come first; choosing a row charts its forecast.

import {get} from "../api.js";
import {bandChart} from "../charts.js";
import {el, number, section, svg} from "../dom.js";

const MAX_ROWS = 500;

function sparkBand(forecast) {
  const W = 150, H = 34;
  if (!forecast) return el("span", {class: "muted", text: "no forecast"});
  const {p10, p50, p90} = forecast.quantiles;
  const top = Math.max(1e-9, ...p90);
  const x = (i) => (i / Math.max(1, p90.length - 1)) * (W - 2) + 1;
  const y = (v) => H - 2 - (v / top) * (H - 4);
  const band = p90.map((v, i) => x(i) + "," + y(v)).concat(p10.map((v, i) => x(i) + "," + y(v)).reverse()).join(" ");
  return svg("svg", {width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": "daily demand P10 " + number(p10[0], 1) + " to P90 " + number(p90[0], 1) + " tomorrow, over " + p90.length + " days"},
  svg("polygon", {points: band, fill: "rgba(31,78,121,.22)"}),
  svg("polyline", {points: p50.map((v, i) => x(i) + "," + y(v)).join(" "), fill: "none", stroke: "#1f4e79", "stroke-width": 1.5}));
}

function runsOut(days, horizon) { return days === null || days === undefined ? "beyond " + horizon + " days" : "in " + number(days, 1) + " days"; }

export const stockView = {
  name: "stock",
  title: "Stock",
  render(main) {
    let chosen = null;
    let plot = null;
    let rows = [];
    const filter = el("input", {id: "stock-filter", type: "search", placeholder: "SKU or warehouse", oninput: () => draw()});
    const onlyRisk = el("input", {id: "stock-risk", type: "checkbox", onchange: () => draw()});
    const head = el("p", {role: "status"});
    const tbody = el("tbody");
    const chartBox = el("div", {class: "chart"});
    main.append(
      section("Forecast of the chosen SKU", chartBox),
      section("Stock per SKU and warehouse",
        el("div", {class: "filters"}, el("label", {}, "Search", filter), el("label", {class: "inline"}, onlyRisk, " only at risk")),
        head,
        el("table", {}, el("caption", {text: "Stock, forecast band (P10–P90 per day, line: P50) and stock-out risk"}),
          el("thead", {}, el("tr", {}, ["SKU", "Warehouse", "In stock", "Demand forecast", "Runs out (P90)", "Runs out (mean)", "Risk", "Proposed"].map(h => el("th", {scope: "col", text: h})))),
          tbody)));
    chartBox.append(el("p", {class: "muted", text: "Choose a row to chart its forecast."}));

    function choose(r) {
      chosen = r.key;
      if (plot) { plot.destroy(); plot = null; }
      chartBox.replaceChildren(el("h3", {text: r.sku + " at " + r.location + ": daily demand, P10–P90 band"}));
      if (r.forecast) {
        const f = r.forecast;
        plot = bandChart(chartBox, {width: Math.max(400, Math.min(900, chartBox.clientWidth || 800)), title: ""}, f.dates, f.quantiles.p10, f.quantiles.p50, f.quantiles.p90, f.mean);
        chartBox.append(el("p", {class: "muted", text: "method " + f.method + (f.fallback ? " (fallback: " + (f.reason || "no model") + ")" : "")}));
      } else chartBox.append(el("p", {class: "muted", text: "No forecast for this SKU here yet."}));
      draw();
    }

    function draw() {
      const words = filter.value.trim().toLowerCase();
      const shown = rows.filter(r => (!onlyRisk.checked || (r.cover && r.cover.at_risk)) && (!words || (r.sku + " " + r.location).toLowerCase().includes(words)));
      head.textContent = rows.filter(r => r.cover && r.cover.at_risk).length + " of " + rows.length + " at risk of running out"
        + (shown.length > MAX_ROWS ? "; showing the first " + MAX_ROWS + " of " + shown.length : "");
      tbody.replaceChildren(...shown.slice(0, MAX_ROWS).map(r => {
        const c = r.cover;
        return el("tr", {"data-testid": "stock-row", "data-sku": r.sku, "data-location": r.location, class: "clickable" + (r.key === chosen ? " selected" : ""), onclick: () => choose(r)},
          el("td", {}, el("button", {type: "button", class: "quiet", text: r.sku, "aria-label": "Chart the forecast of " + r.sku + " at " + r.location, onclick: (e) => { e.stopPropagation(); choose(r); }})),
          el("td", {text: r.location}), el("td", {class: "num", text: number(r.qty)}),
          el("td", {class: "band-cell"}, sparkBand(r.forecast)),
          el("td", {text: c ? runsOut(c.p90_days, c.horizon_days) : "–"}),
          el("td", {text: c ? runsOut(c.expected_days, c.horizon_days) : "–"}),
          el("td", {class: c ? (c.at_risk ? "risk high" : "risk low") : "muted", text: c ? (c.at_risk ? "at risk" : "covered") : "no forecast"}),
          el("td", {class: "num", text: c && c.proposed ? number(c.proposed) + " (to " + number(c.order_up_to) + ")" : "–"}));
      }));
      if (!shown.length) tbody.append(el("tr", {}, el("td", {colspan: 8, class: "muted", text: rows.length ? "No row matches." : "No stock reported yet."})));
    }

    return {
      async refresh() {
        const [stock, cover, forecasts] = await Promise.all([
          get("/api/v1/stock"),
          get("/api/v1/stock/cover?limit=10000").catch(() => ({covers: []})),
          get("/api/v1/forecasts?limit=10000").catch(() => ({forecasts: []}))]);
        const covers = new Map(cover.covers.map(c => [c.sku + "@" + c.location, c]));
        const fc = new Map(forecasts.forecasts.map(f => [f.sku + "@" + f.location, f]));
        rows = stock.map(s => {
          const location = s.site + "/" + s.node;
          const key = s.sku + "@" + location;
          return {key, sku: s.sku, location, qty: s.qty, cover: covers.get(key), forecast: fc.get(key)};
        }).sort((a, b) => (Number(Boolean(b.cover && b.cover.at_risk)) - Number(Boolean(a.cover && a.cover.at_risk)))
          || ((a.cover ? a.cover.p90_days ?? 1e9 : 1e9) - (b.cover ? b.cover.p90_days ?? 1e9 : 1e9))
          || a.sku.localeCompare(b.sku) || a.location.localeCompare(b.location));
        draw();
      },
      dispose() { if (plot) plot.destroy(); },
    };
  },
};
