// The open alarms, kept live from `/api/v1/alarms/stream`: a snapshot when the stream
// opens, then one event per change. Views subscribe and redraw; a `lagged` event (this
// page fell behind) or a dropped connection reopens the stream, whose snapshot resyncs.

import {streamEvents} from "./api.js";

// Open = active; the snapshot holds exactly these. Cleared alarms are in the history.
const OPEN = new Set(["ACTIVE_UNACK", "ACTIVE_ACK"]);
const RETRY_MS = [500, 1000, 2000, 5000];

export class AlarmStore {
  constructor() {
    this.alarms = new Map();   // alarm_id -> alarm, every alarm still needing attention
    this.listeners = new Set();
    this.connected = false;
    this.lastEvent = null;     // {kind, alarm_id, received} of the latest change
    this.controller = null;
  }

  subscribe(listener) { this.listeners.add(listener); return () => this.listeners.delete(listener); }

  notify(change) { for (const listener of this.listeners) listener(change); }

  open() { return [...this.alarms.values()]; }

  start() {
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    const run = async (attempt) => {
      try {
        await streamEvents("/api/v1/alarms/stream", (name, data) => this.handle(name, data), controller.signal);
        attempt = 0;
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error && error.status === 401) { this.setConnected(false); this.notify({kind: "unauthorized"}); return; }
      }
      if (controller.signal.aborted) return;
      this.setConnected(false);
      setTimeout(() => run(attempt + 1), RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
    };
    run(0);
  }

  stop() { if (this.controller) this.controller.abort(); this.controller = null; this.setConnected(false); }

  setConnected(value) {
    if (this.connected === value) return;
    this.connected = value;
    this.notify({kind: "connection"});
  }

  handle(name, data) {
    if (name === "ready") { this.setConnected(true); return; }
    if (name === "snapshot" && Array.isArray(data)) {
      this.alarms = new Map(data.filter(a => OPEN.has(a.status)).map(a => [a.alarm_id, a]));
      this.notify({kind: "snapshot"});
      performance.mark("flexfleet:alarms-snapshot"); // listeners have drawn it
    } else if (name === "alarm" && data && data.alarm) {
      this.apply(data.alarm);
      this.lastEvent = {kind: data.kind, alarm_id: data.alarm_id, received: performance.now()};
      this.notify({kind: data.kind, alarm: data.alarm});
    } else if (name === "lagged") {
      this.start(); // the snapshot of a new stream replaces what was missed
    }
  }

  apply(alarm) {
    if (OPEN.has(alarm.status)) this.alarms.set(alarm.alarm_id, alarm);
    else this.alarms.delete(alarm.alarm_id);
  }
}
