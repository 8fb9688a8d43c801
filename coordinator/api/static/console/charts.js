// Charts drawn with the vendored uPlot (static/vendor/uplot): time series with markers
// (e.g. when an anomaly alarm was raised) and a shaded band between two series (P10–P90).

const MARKER = "#c01f24";

function markerPlugin(markers) {
  return {
    hooks: {
      draw: [(u) => {
        const c = u.ctx;
        c.save();
        c.strokeStyle = MARKER; c.fillStyle = MARKER; c.lineWidth = 1.5 * devicePixelRatio;
        c.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        for (const m of markers()) {
          const x = u.valToPos(m.ts_ms / 1000, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          c.beginPath(); c.moveTo(x, u.bbox.top); c.lineTo(x, u.bbox.top + u.bbox.height); c.stroke();
          c.beginPath(); c.arc(x, u.bbox.top + 5 * devicePixelRatio, 4 * devicePixelRatio, 0, 2 * Math.PI); c.fill();
        }
        c.restore();
      }],
    },
  };
}

/** A line chart of one signal; `markers()` returns [{ts_ms}] drawn as red dashed lines. */
export function signalChart(target, {label, unit, width}, markers) {
  const opts = {
    width, height: 180,
    scales: {x: {time: true}},
    series: [{}, {label: label + (unit ? " (" + unit + ")" : ""), stroke: "#1f4e79", width: 1.5, points: {show: false}}],
    axes: [{}, {size: 56}],
    legend: {live: false},
    plugins: [markerPlugin(markers)],
  };
  return new window.uPlot(opts, [[], []], target);
}

/** Points of a telemetry answer as uPlot columns (seconds, values). */
export function columns(points) {
  return [points.map(p => p.ts_ms / 1000), points.map(p => p.value)];
}

/** A daily demand forecast: P10–P90 as a shaded band, P50 and the mean as lines. */
export function bandChart(target, {width, title}, days, p10, p50, p90, mean) {
  const xs = days.map(d => Date.parse(d + "T12:00:00Z") / 1000);
  const opts = {
    width, height: 200, title,
    scales: {x: {time: true}},
    series: [{},
      {label: "P10", stroke: "#6f9fcf", width: 1, points: {show: false}},
      {label: "P50", stroke: "#1f4e79", width: 2, points: {show: false}},
      {label: "P90", stroke: "#6f9fcf", width: 1, points: {show: false}},
      {label: "mean", stroke: "#8a5a00", width: 1, dash: [4, 3], points: {show: false}}],
    bands: [{series: [3, 1], fill: "rgba(31, 78, 121, 0.15)"}],
    axes: [{}, {size: 50, label: "units per day"}],
  };
  return new window.uPlot(opts, [xs, p10, p50, p90, mean], target);
}
