// Alarms: the open ones live over the SSE stream (no reload), filters, acknowledge and
// clear with a comment (operators), each alarm's history and comments, and the history
// of past alarms from the list API.

import {ApiError, get, post} from "../api.js";
import {ago, dateTime, el, notice, section} from "../dom.js";
import {serverNow} from "../clock.js";
import {SEVERITIES} from "./overview.js";

const STATUSES = ["ACTIVE_UNACK", "ACTIVE_ACK", "CLEARED_UNACK", "CLEARED_ACK"];
const STATUS_WORDS = {ACTIVE_UNACK: "active, not acknowledged", ACTIVE_ACK: "active, acknowledged",
  CLEARED_UNACK: "cleared, not acknowledged", CLEARED_ACK: "cleared, acknowledged"};
const HEADINGS = ["Severity", "Status", "Site", "Where", "What", "Count", "Since", "Last", "Actions"];

function order(a, b) {
  return (a.acknowledged - b.acknowledged)
    || SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity)
    || b.last_ms - a.last_ms;
}

/**
 * Make `body`'s children exactly `rows`, in order, touching only what changed: a new
 * alarm is one insertion, not a rebuilt table (hundreds of open alarms stay cheap).
 */
function place(body, rows) {
  let cursor = body.firstChild;
  for (const node of rows) {
    if (node === cursor) cursor = cursor.nextSibling;
    else body.insertBefore(node, cursor);
  }
  while (cursor) { const next = cursor.nextSibling; cursor.remove(); cursor = next; }
}

/** Refresh the "… ago" cells in place. */
function retime(body) {
  const now = serverNow();
  for (const cell of body.querySelectorAll("td.ago")) cell.textContent = ago(Number(cell.dataset.ms), now);
}

function field(label, control) { return el("label", {}, label, control); }

export const alarmsView = {
  name: "alarms",
  title: "Alarms",
  render(main, ctx) {
    let mode = "open";
    let history = [];
    const expanded = new Set();
    const rowCache = new Map(); // alarm_id -> {key, tr}
    const message = el("div", {"aria-live": "polite"});

    const severity = el("select", {id: "f-severity", onchange: () => draw()},
      el("option", {value: "", text: "any"}), SEVERITIES.map(s => el("option", {value: s, text: s.toLowerCase()})));
    const status = el("select", {id: "f-status", onchange: () => reloadHistory()},
      el("option", {value: "", text: "any"}), STATUSES.map(s => el("option", {value: s, text: STATUS_WORDS[s]})));
    const site = el("input", {id: "f-site", type: "search", placeholder: "any", size: 10, oninput: () => draw()});
    const search = el("input", {id: "f-text", type: "search", placeholder: "machine, signal, words…", size: 22, oninput: () => draw()});
    const hours = el("select", {id: "f-hours", onchange: () => reloadHistory()},
      [1, 6, 24, 168, 720].map(h => el("option", {value: h, text: h < 48 ? "last " + h + " h" : "last " + h / 24 + " days", selected: h === 24})));
    const statusField = field("Status", status);
    const hoursField = field("Time", hours);

    const tabOpen = el("button", {type: "button", "aria-pressed": "true", text: "Open", onclick: () => setMode("open")});
    const tabHistory = el("button", {type: "button", "aria-pressed": "false", text: "History", onclick: () => setMode("history")});
    const counter = el("p", {class: "muted", role: "status"});
    const tbody = el("tbody");
    const grid = el("table", {id: "alarm-table", class: "fixed"},
      el("caption", {text: "Alarms, unacknowledged and most severe first"}),
      el("thead", {}, el("tr", {}, HEADINGS.map(h => el("th", {scope: "col", text: h})))), tbody);

    main.append(
      el("div", {class: "tabs", role: "group", "aria-label": "Which alarms"}, tabOpen, tabHistory),
      section("Filters", el("div", {class: "filters"},
        field("Severity", severity), statusField, field("Site", site), field("Search", search), hoursField)),
      message,
      section("Alarms", counter, grid),
    );

    function setMode(next) {
      mode = next;
      tabOpen.setAttribute("aria-pressed", String(mode === "open"));
      tabHistory.setAttribute("aria-pressed", String(mode === "history"));
      statusField.hidden = hoursField.hidden = mode === "open";
      rowCache.clear();
      if (mode === "history") reloadHistory(); else draw();
    }
    statusField.hidden = hoursField.hidden = true;

    async function reloadHistory() {
      if (mode !== "history") return;
      const params = new URLSearchParams({limit: "500", since_ms: String(serverNow() - Number(hours.value) * 3600_000)});
      if (status.value) params.append("status", status.value);
      history = await get("/api/v1/alarms?" + params);
      rowCache.clear();
      draw();
    }

    function matches(a) {
      if (severity.value && a.severity !== severity.value) return false;
      if (site.value && !a.site.toLowerCase().includes(site.value.toLowerCase())) return false;
      const words = search.value.trim().toLowerCase();
      if (words && !(a.source + " " + a.alarm_type + " " + a.message).toLowerCase().includes(words)) return false;
      return true;
    }

    function say(text, kind) { message.replaceChildren(notice(text, kind)); }

    async function act(alarm, action, note) {
      const id = encodeURIComponent(alarm.alarm_id);
      try {
        if (note) await post("/api/v1/alarms/" + id + "/comments", {text: note});
        if (action === "ack") await post("/api/v1/alarms/" + id + "/ack");
        if (action === "clear") await post("/api/v1/alarms/" + id + "/clear", {note: note || ""});
        say((action === "ack" ? "Acknowledged " : action === "clear" ? "Cleared " : "Commented on ") + alarm.source + " · " + alarm.alarm_type + ".");
        if (mode === "history") await reloadHistory();
        if (expanded.has(alarm.alarm_id)) { rowCache.delete(alarm.alarm_id); draw(); }
      } catch (error) {
        const denied = error instanceof ApiError && (error.status === 401 || error.status === 403);
        say(denied ? "This needs an operator token." : String(error.message || error), "error");
      }
    }

    function actions(a) {
      const canAct = ctx.canAct();
      const buttons = [];
      if (!a.acknowledged) buttons.push(el("button", {type: "button", class: "operator-only", "data-testid": "alarm-ack",
        disabled: !canAct, "aria-label": "Acknowledge " + a.source + " " + a.alarm_type, text: "Acknowledge", onclick: () => act(a, "ack")}));
      if (!a.cleared) buttons.push(el("button", {type: "button", class: "operator-only secondary", "data-testid": "alarm-clear",
        disabled: !canAct, "aria-label": "Clear " + a.source + " " + a.alarm_type, text: "Clear…", onclick: () => toggle(a, true)}));
      buttons.push(el("button", {type: "button", class: "quiet", "aria-expanded": String(expanded.has(a.alarm_id)),
        "aria-label": "Details of " + a.source + " " + a.alarm_type, text: "Details", onclick: () => toggle(a)}));
      return el("div", {class: "actions"}, buttons);
    }

    function toggle(alarm, open) {
      if (open || !expanded.has(alarm.alarm_id)) expanded.add(alarm.alarm_id); else expanded.delete(alarm.alarm_id);
      rowCache.delete(alarm.alarm_id);
      draw();
      if (open) requestAnimationFrame(() => { const box = document.getElementById("note-" + alarm.alarm_id); if (box) box.focus(); });
    }

    function detailRow(a) {
      const body = el("td", {colspan: HEADINGS.length}, el("p", {class: "muted", text: "loading history…"}));
      const note = el("input", {id: "note-" + a.alarm_id, type: "text", maxlength: 4000, placeholder: "what was done, why"});
      const box = el("div", {class: "comment-box operator-only"},
        el("label", {for: note.id, text: "Comment"}), note,
        el("button", {type: "button", class: "secondary", text: "Comment", onclick: () => note.value.trim() && act(a, "comment", note.value.trim())}),
        a.acknowledged ? null : el("button", {type: "button", text: "Acknowledge with comment", onclick: () => act(a, "ack", note.value.trim())}),
        a.cleared ? null : el("button", {type: "button", "data-testid": "alarm-clear-confirm", text: "Clear with comment", onclick: () => act(a, "clear", note.value.trim())}));
      get("/api/v1/alarms/" + encodeURIComponent(a.alarm_id)).then(d => {
        body.replaceChildren(
          el("dl", {},
            el("dt", {text: "Type"}), el("dd", {text: a.alarm_type}),
            el("dt", {text: "Raised"}), el("dd", {text: dateTime(a.start_ms) + ", last " + dateTime(a.last_ms) + " (" + a.count + "×)"}),
            el("dt", {text: "Acknowledged"}), el("dd", {text: a.acknowledged ? dateTime(a.ack_ms) + " by " + a.ack_by : "no"}),
            el("dt", {text: "Cleared"}), el("dd", {text: a.cleared ? dateTime(a.clear_ms) + " by " + (a.clear_by || "source") : "no"}),
            el("dt", {text: "Details"}), el("dd", {}, el("pre", {text: JSON.stringify(d.alarm.details, null, 1)}))),
          el("h3", {text: "History"}),
          el("ol", {}, d.transitions.map(t => el("li", {text: dateTime(t.ts_ms) + " · " + t.actor + " · " + t.action.toLowerCase()
            + " (" + (t.from_status || "new") + " → " + t.to_status + ")" + (t.note ? ": " + t.note : "")}))),
          el("h3", {text: "Comments"}),
          d.comments.length ? el("ul", {}, d.comments.map(c => el("li", {text: dateTime(c.ts_ms) + " · " + c.author + ": " + c.text})))
            : el("p", {class: "muted", text: "none"}),
          box);
      }).catch(error => body.replaceChildren(notice(String(error.message || error), "error"), box));
      return el("tr", {class: "detail"}, body);
    }

    function row(a) {
      const key = a.status + "|" + a.last_ms + "|" + a.count + "|" + a.severity + "|" + expanded.has(a.alarm_id) + "|" + ctx.canAct();
      const cached = rowCache.get(a.alarm_id);
      if (cached && cached.key === key) return cached.rows;
      const tr = el("tr", {"data-testid": "alarm-row", "data-alarm-id": a.alarm_id, "data-status": a.status},
        el("td", {}, el("span", {class: "sev " + a.severity, text: a.severity})),
        el("td", {text: STATUS_WORDS[a.status] || a.status}),
        el("td", {text: a.site}), el("td", {text: a.source}), el("td", {text: a.message}),
        el("td", {class: "num", text: a.count}),
        el("td", {class: "ago", "data-ms": a.start_ms, text: ago(a.start_ms), title: dateTime(a.start_ms)}),
        el("td", {class: "ago", "data-ms": a.last_ms, text: ago(a.last_ms), title: dateTime(a.last_ms)}),
        el("td", {}, actions(a)));
      const rows = expanded.has(a.alarm_id) ? [tr, detailRow(a)] : [tr];
      rowCache.set(a.alarm_id, {key, rows});
      return rows;
    }

    function draw() {
      const source = mode === "open" ? ctx.alarms.open() : history;
      const shown = source.filter(matches).sort(mode === "open" ? order : (a, b) => b.last_ms - a.last_ms);
      const live = new Set(shown.map(a => a.alarm_id));
      for (const id of rowCache.keys()) if (!live.has(id)) rowCache.delete(id);
      const rows = shown.flatMap(row);
      if (!rows.length) rows.push(el("tr", {}, el("td", {colspan: HEADINGS.length, class: "muted",
        text: mode === "open" ? "No open alarms." : "No alarms in this time range."})));
      place(tbody, rows);
      counter.textContent = mode === "open"
        ? shown.length + " of " + source.length + " open alarms shown · " + (ctx.alarms.connected ? "live" : "reconnecting")
        : shown.length + " alarms in the history";
    }

    const unsubscribe = ctx.alarms.subscribe((change) => {
      if (mode === "open") draw();
      else if (change.alarm) reloadHistory().catch(() => {});
    });
    return {
      async refresh() { if (mode === "history") await reloadHistory(); else { draw(); retime(tbody); } },
      dispose() { unsubscribe(); },
    };
  },
};
