// Live streams: the announced, running and (optionally) ended live-commerce streams, with
// their featured SKUs and expected audience and orders: the demand bursts the forecasts
// and the stock cover have to absorb.

import {getOptional} from "../api.js";
import {dateTime, el, number, section, table} from "../dom.js";

export const streamsView = {
  name: "streams",
  title: "Live streams",
  render(main) {
    const ended = el("input", {id: "streams-ended", type: "checkbox", onchange: () => view.refresh()});
    const box = el("div");
    main.append(section("Live streams", el("label", {}, ended, " include ended streams"), box));
    const view = {
      async refresh() {
        const listed = await getOptional("/api/v1/live-streams" + (ended.checked ? "?include_ended=true" : "")).catch(() => null);
        box.replaceChildren(table("Streams by start time", ["Stream", "Channel", "Status", "Starts", "Ends", "Featured SKUs", "Audience", "Orders expected"],
          ((listed && listed.streams) || []).map(s => el("tr", {"data-testid": "stream-row", "data-stream": s.id},
            el("td", {text: s.id}), el("td", {text: s.channel}),
            el("td", {class: s.status === "live" ? "on" : "", text: s.status}),
            el("td", {text: dateTime(s.start_ms)}), el("td", {text: dateTime(s.start_ms + s.duration_s * 1000)}),
            el("td", {text: s.featured_skus.join(", ")}),
            el("td", {class: "num", text: number(s.expected_audience)}), el("td", {class: "num", text: number(s.expected_orders)}))),
          {empty: listed ? "No live stream announced." : "This coordinator does not take live streams."}));
      },
      dispose() {},
    };
    return view;
  },
};
