// The console's shell: sign-in, navigation between views (the address's #fragment names
// the view), the live alarm stream shared by every view, and a refresh of the shown view
// every few seconds. Views are modules listed in views/index.js; each renders into the
// main element and returns {refresh(), dispose()}.

import {ApiError, forgetToken, get, saveToken, savedToken} from "./api.js";
import {AlarmStore} from "./alarm_store.js";
import {el} from "./dom.js";
import {VIEWS} from "./views/index.js";

const REFRESH_MS = 5000;
const main = document.getElementById("view");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const live = document.getElementById("live");
const dialog = document.getElementById("sign-in");
const form = document.getElementById("sign-in-form");
const tokenInput = document.getElementById("token");
const signInMessage = document.getElementById("sign-in-message");

const ctx = {
  session: null,            // {name, role, tile_url}
  alarms: new AlarmStore(),
  canAct() { return this.session !== null && (this.session.role === "operator" || this.session.role === "admin"); },
  go(hash) { location.hash = hash; },
};
window.flexfleet = ctx; // for benchmarks and tests: the live state of the page

let current = null;         // {name, view, timer}

function viewName() {
  const name = location.hash.replace(/^#\/?/, "").split("?")[0];
  return VIEWS.some(v => v.name === name) ? name : VIEWS[0].name;
}

function drawNav() {
  const open = ctx.alarms.open().length;
  nav.replaceChildren(...VIEWS.map(v => {
    const link = el("a", {href: "#/" + v.name, text: v.title});
    if (v.name === viewName()) link.setAttribute("aria-current", "page");
    if (v.name === "alarms" && open) link.append(el("span", {class: "badge", text: open, "aria-label": open + " open alarms"}));
    return link;
  }));
  live.textContent = ctx.alarms.connected ? "live" : "reconnecting…";
  live.className = ctx.alarms.connected ? "live on" : "live off";
}

async function show() {
  if (!ctx.session) return;
  const name = viewName();
  if (current) { clearInterval(current.timer); current.view.dispose(); }
  const spec = VIEWS.find(v => v.name === name);
  delete main.dataset.ready;
  document.title = spec.title + " · flexfleet";
  main.replaceChildren(el("h1", {text: spec.title}));
  const view = spec.render(main, ctx);
  current = {name, view, timer: setInterval(() => view.refresh().catch(report), spec.refreshMs || REFRESH_MS)};
  drawNav();
  try { await view.refresh(); } catch (error) { report(error); }
  main.dataset.ready = name; // the view has drawn its first data
  performance.mark("flexfleet:ready:" + name);
}

function report(error) {
  if (error instanceof ApiError && error.status === 401) { signIn("The token was refused; sign in again."); return; }
  console.warn("flexfleet console:", error && error.message ? error.message : error);
}

async function startSession() {
  try {
    ctx.session = await get("/console/session");
  } catch (error) {
    ctx.session = null;
    signIn(error instanceof ApiError && error.status === 401
      ? (savedToken() ? "That token was not accepted." : "Enter your API token.")
      : "The coordinator could not be reached (" + (error.message || error) + ").");
    return;
  }
  if (dialog.open) dialog.close();
  document.body.dataset.role = ctx.session.role;
  who.textContent = ctx.session.name + " · " + ctx.session.role;
  ctx.alarms.start();
  await show();
}

function signIn(message) {
  ctx.alarms.stop();
  if (current) { clearInterval(current.timer); current.view.dispose(); current = null; }
  ctx.session = null;
  document.body.dataset.role = "";
  who.textContent = "";
  signInMessage.textContent = message;
  tokenInput.value = "";
  if (!dialog.open) dialog.showModal();
  tokenInput.focus();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  saveToken(tokenInput.value.trim());
  startSession();
});
document.getElementById("sign-out").addEventListener("click", () => { forgetToken(); signIn("Signed out."); });
window.addEventListener("hashchange", show);
ctx.alarms.subscribe((change) => {
  if (change.kind === "unauthorized") { signIn("The token was refused; sign in again."); return; }
  drawNav();
});
startSession();
