// The coordinator's API as the console uses it: the bearer token from the sign-in form
// (kept in sessionStorage, never in the address) on every request, JSON in and out, and
// server-sent events read over fetch so the token travels in a header there too.

import {noteServerTime} from "./clock.js";

const TOKEN_KEY = "flexfleet.token";

export class ApiError extends Error {
  constructor(path, status, detail) {
    super(path + " answered " + status + (detail ? ": " + detail : ""));
    this.status = status;
    this.detail = detail;
  }
}

export function savedToken() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
export function saveToken(token) { sessionStorage.setItem(TOKEN_KEY, token); }
export function forgetToken() { sessionStorage.removeItem(TOKEN_KEY); }

function headers(extra) {
  const token = savedToken();
  return token ? {...extra, Authorization: "Bearer " + token} : {...extra};
}

async function detailOf(response) {
  try {
    const body = await response.json();
    const detail = body && (body.detail ?? body.message ?? body.error);
    return typeof detail === "string" ? detail : JSON.stringify(detail);
  } catch { return ""; }
}

export async function get(path, {signal} = {}) {
  const response = await fetch(path, {headers: headers({Accept: "application/json"}), signal});
  noteServerTime(response);
  if (!response.ok) throw new ApiError(path, response.status, await detailOf(response));
  return response.json();
}

/** GET that answers null on 404 (a resource this coordinator does not have yet). */
export async function getOptional(path, options) {
  try { return await get(path, options); }
  catch (error) { if (error instanceof ApiError && error.status === 404) return null; throw error; }
}

export async function post(path, body) {
  const init = {method: "POST", headers: headers({Accept: "application/json"})};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  noteServerTime(response);
  if (!response.ok) throw new ApiError(path, response.status, await detailOf(response));
  return response.status === 204 ? null : response.json();
}

/**
 * Read a server-sent event stream until `signal` aborts; `onEvent(name, data)` for each
 * event (data parsed as JSON when it is JSON). Resolves when the stream ends; rejects on
 * an HTTP error or a network failure (the caller reconnects).
 */
export async function streamEvents(path, onEvent, signal) {
  const response = await fetch(path, {headers: headers({Accept: "text/event-stream"}), signal, cache: "no-store"});
  noteServerTime(response);
  if (!response.ok) throw new ApiError(path, response.status, await detailOf(response));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let name = "message";
  let data = [];
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith("\r\n", end) ? 2 : 1));
      if (line === "") {
        if (data.length) {
          const text = data.join("\n");
          let parsed = text;
          try { parsed = JSON.parse(text); } catch { /* plain text event */ }
          onEvent(name, parsed);
        }
        name = "message"; data = [];
      } else if (line.startsWith(":")) {
        continue; // keep-alive comment
      } else {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = val;
        else if (field === "data") data.push(val);
      }
    }
  }
}
