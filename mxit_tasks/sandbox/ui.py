"""The sandbox inbox: one self-contained page at ``/_emulator/ui`` (no build step, no external
assets), like Mailpit for email. It polls the control API every two seconds."""

from __future__ import annotations

from mxit_tasks.sandbox.control import router
from mxit_tasks.sandbox.http import Request, Response

PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mxit sandbox inbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>
*{box-sizing:border-box} body{margin:0;font:14px/1.4 system-ui,sans-serif;color:#1d2733;background:#f3f5f8}
header{background:#0b5394;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:center}
header h1{font-size:17px;margin:0} header .stats{font-size:12px;opacity:.9}
main{display:grid;grid-template-columns:260px 1fr 330px;gap:12px;padding:12px;height:calc(100vh - 46px)}
section{background:#fff;border-radius:6px;box-shadow:0 1px 2px #0002;overflow:auto;padding:10px}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:#555;margin:4px 0 8px}
input,select,button{font:inherit;padding:4px 6px} input[type=search]{width:100%}
.user{padding:6px;border-radius:4px;cursor:pointer;display:flex;gap:8px;align-items:center}
.user:hover,.user.sel{background:#e6f0fa} .user img{width:28px;height:28px;border-radius:50%;background:#ddd}
.user small{color:#777;display:block}
.msg{border-bottom:1px solid #eee;padding:8px 4px} .msg .meta{color:#777;font-size:12px}
.msg .body{white-space:pre-wrap;margin-top:2px} .link{color:#0b5394;text-decoration:underline}
.offer,.fault{font-size:12px;border-bottom:1px solid #eee;padding:4px 0}
.pill{display:inline-block;background:#eef;border-radius:8px;padding:0 6px;font-size:11px}
button{cursor:pointer;border:1px solid #0b5394;background:#0b5394;color:#fff;border-radius:4px}
button.light{background:#fff;color:#0b5394}
</style></head><body>
<header><h1>Mxit sandbox</h1><span class="stats" id="stats">loading…</span></header>
<main>
<section><h2>Users</h2>
<input type="search" id="q" placeholder="search by UserId, Mxit ID or name" autocomplete="off">
<div id="users"></div></section>
<section><h2 id="inbox-title">Recent broadcasts</h2><div id="messages"></div></section>
<section>
<h2>Faults</h2><div id="faults"></div>
<form id="fault-form">
<input id="f-pattern" value="POST /api/message/send*" style="width:100%" aria-label="route pattern">
<div style="display:flex;gap:6px;margin-top:4px">
<select id="f-status" aria-label="status"><option>503</option><option>500</option><option>429</option><option>400</option></select>
<input id="f-rate" type="number" min="0" max="1" step="0.05" value="1" style="width:70px" aria-label="rate">
<button type="submit" id="f-add">Add fault</button>
<button type="button" class="light" id="f-clear">Clear all</button></div></form>
<h2 style="margin-top:14px">File offers</h2><div id="offers"></div>
<h2 style="margin-top:14px">Avatar</h2><div id="avatar"></div>
</section></main>
<script>
const C = location.pathname.replace(/\/ui\/?$/, "");
const API = C.replace(/\/_emulator$/, "") + "/api";
let selected = null, query = "";
const esc = s => String(s).replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
function markup(body, links) {
  let h = esc(body);
  h = h.replace(/\{(\d+)\}/g, (m, n) => links && links[n] ? `<span class="link">${esc(links[n].Text)}</span>` : m);
  h = h.replace(/\*([^*\n]+)\*/g, "<b>$1</b>").replace(/(^|\s)\/([^\/\n]+)\/(?=\s|$)/g, "$1<i>$2</i>")
       .replace(/(^|\s)_([^_\n]+)_(?=\s|$)/g, "$1<u>$2</u>").replace(/\$([^$\n]+)\$/g, '<span class="link">$1</span>');
  return h;
}
async function get(path) { const r = await fetch(C + path); if (!r.ok) throw new Error(path + " " + r.status); return r.json(); }
function when(ts) { return new Date(ts * 1000).toLocaleTimeString(); }
async function users() {
  const data = await get("/users?limit=50&q=" + encodeURIComponent(query));
  document.getElementById("users").innerHTML = data.users.map(u =>
    `<div class="user${u.UserId === selected ? " sel" : ""}" data-id="${esc(u.UserId)}">
     <img alt="" src="${API}/user/public/avatar/${encodeURIComponent(u.UserId)}">
     <div>${esc(u.DisplayName)}<small>${esc(u.UserId)} · ${esc(u.MxitId)}</small></div></div>`).join("");
}
async function messages() {
  const stats = await get("/stats");
  document.getElementById("stats").textContent =
    `${stats.messages_delivered} messages · ${stats.recipients_delivered} deliveries · ` +
    `${stats.duplicate_deliveries} duplicates · ${stats.invalid_recipients} invalid`;
  let msgs;
  if (selected) {
    msgs = (await get("/outbox?limit=200&to=" + encodeURIComponent(selected))).messages;
    document.getElementById("inbox-title").textContent = "Inbox of " + selected;
  } else {
    const since = Math.max(0, stats.messages_delivered - 30);
    msgs = (await get("/outbox?limit=30&since=" + since)).messages;
    document.getElementById("inbox-title").textContent = "Recent broadcasts";
  }
  document.getElementById("messages").innerHTML = msgs.reverse().map(m =>
    `<div class="msg"><div class="meta">${when(m.ts)} · from <b>${esc(m.from)}</b> ·
     <span class="pill">${m.recipients} recipient${m.recipients === 1 ? "" : "s"}</span>
     ${m.spool ? "" : '<span class="pill">no spool</span>'}</div>
     <div class="body">${m.contains_markup ? markup(m.body, m.links) : esc(m.body)}</div></div>`).join("")
    || "<p>No messages yet.</p>";
}
async function side() {
  const faults = (await get("/faults")).faults;
  document.getElementById("faults").innerHTML = faults.map(f =>
    `<div class="fault"><b>${esc(f.pattern)}</b> error ${f.error_rate * 100}% → ${f.error_status}
     ${f.latency_ms ? "· +" + f.latency_ms + "ms" : ""} · applied ${f.applied}</div>`).join("") || "<p>No faults.</p>";
  const offers = (await get("/offers")).offers.slice(-10).reverse();
  document.getElementById("offers").innerHTML = offers.map(o =>
    `<div class="offer">${esc(o.FileName)} → ${esc(o.UserId)} ${o.AutoOpen ? "(auto-open)" : ""}</div>`).join("") || "<p>None.</p>";
  document.getElementById("avatar").innerHTML = selected
    ? `<img alt="avatar of ${esc(selected)}" style="max-width:120px" src="${API}/user/public/avatar/${encodeURIComponent(selected)}?t=${Date.now()}">`
    : "<p>Select a user.</p>";
}
async function refresh() { try { await Promise.all([users(), messages(), side()]); } catch (e) { document.getElementById("stats").textContent = String(e); } }
document.getElementById("q").addEventListener("input", e => { query = e.target.value; users(); });
document.getElementById("users").addEventListener("click", e => {
  const el = e.target.closest(".user"); if (!el) return;
  selected = selected === el.dataset.id ? null : el.dataset.id; refresh();
});
document.getElementById("fault-form").addEventListener("submit", async e => {
  e.preventDefault();
  const current = Object.fromEntries((await get("/faults")).faults.map(f => { const p = f.pattern; delete f.pattern; delete f.applied; return [p, f]; }));
  current[document.getElementById("f-pattern").value] = {error_rate: parseFloat(document.getElementById("f-rate").value),
                                                         error_status: parseInt(document.getElementById("f-status").value)};
  await fetch(C + "/faults", {method: "PUT", headers: {"Content-Type": "application/json"}, body: JSON.stringify(current)});
  side();
});
document.getElementById("f-clear").addEventListener("click", async () => { await fetch(C + "/faults", {method: "DELETE"}); side(); });
refresh(); setInterval(refresh, 2000);
</script></body></html>
"""


@router.route("GET", "/ui")
def inbox_page(req: Request) -> Response:
    """GET /_emulator/ui: the inbox page."""
    return Response(200, PAGE.encode("utf-8"), "text/html; charset=utf-8")
