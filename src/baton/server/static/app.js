// The baton dashboard: plain JS over the REST API and the WebSocket streams. Text is always set with
// textContent (never parsed as HTML). The API key is exchanged for a short-lived token at once; only the
// token is kept (sessionStorage), never the key. A run's report is drawn from its generic shape (GET
// /runs/{id} `report`): the page knows no workflow's steps.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: null, role: null, workflows: {}, runs: new Map(), run: null, tasks: new Map(),
                items: new Map(), runSocket: null, allSocket: null, lastEvent: 0, refreshTimer: null,
                reportTimer: null, reportShown: null };
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// a style attribute would be refused by the page's Content-Security-Policy; a CSSOM property is not
function barOf(width) {
  const bar = el("span", { class: "fill" });
  bar.style.width = `${width}px`;
  return bar;
}

async function api(path, options = {}) {
  // a FormData body sets its own multipart Content-Type (with the boundary)
  const headers = { ...(options.json === false ? {} : { "Content-Type": "application/json" }), ...(options.headers || {}) };
  if (state.token && !headers.Authorization) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { ...options, headers });
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    if (response.status === 401 && state.token) logout("your session expired — log in again");
    const error = body?.error || { message: response.statusText, request_id: "" };
    throw new Error(`${error.message} (request ${error.request_id})`);
  }
  return body;
}

// -- login -----------------------------------------------------------------------------------------

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const key = $("api-key").value.trim();
  try {
    const issued = await api("/auth/token", { method: "POST", headers: { Authorization: `Bearer ${key}` } });
    $("api-key").value = "";
    sessionStorage.setItem("baton.token", JSON.stringify({ token: issued.access_token, role: issued.role,
      expires: Date.now() + issued.expires_in * 1000 }));
    await enter();
  } catch (error) {
    $("login-error").textContent = error.message;
  }
}

function logout(message = "") {
  sessionStorage.removeItem("baton.token");
  state.token = null;
  for (const socket of [state.runSocket, state.allSocket]) socket?.close();
  $("app").hidden = true; $("login").hidden = false; $("logout").hidden = true; $("who").textContent = "";
  $("login-error").textContent = message;
}

async function enter() {
  const saved = JSON.parse(sessionStorage.getItem("baton.token") || "null");
  if (!saved || saved.expires < Date.now() + 5000) return logout();
  state.token = saved.token; state.role = saved.role;
  $("who").textContent = `signed in as ${saved.role}`;
  $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false;
  $("start-form").querySelector("button").disabled = saved.role === "viewer";
  await loadWorkflows();
  await loadRuns();
  followAllRuns();
  const wanted = location.hash.slice(1);
  if (wanted) openRun(wanted);
}

// -- workflows and starting runs -------------------------------------------------------------------

// "file", "folder" or "output" for a workspace path input (its schema says so), else undefined
function pathKind(prop) {
  return [prop, ...(prop?.anyOf || [])].map((p) => p?.["x-baton-path"]).find(Boolean);
}

// One file chooser per file or folder input: chosen files are sent with the run (multipart).
function renderFileInputs(schema) {
  const box = $("files");
  box.replaceChildren();
  for (const [name, prop] of Object.entries(schema?.properties || {})) {
    const kind = pathKind(prop);
    if (kind !== "file" && kind !== "folder") continue;
    const input = el("input", { type: "file", "data-field": name, "data-testid": `file-${name}` });
    if (kind === "folder") input.multiple = true;
    box.append(el("label", {}, `${name} (${kind === "folder" ? "files" : "a file"}) `, input));
  }
}

function defaults(schema) {
  const inputs = {};
  for (const [name, prop] of Object.entries(schema?.properties || {})) {
    if (pathKind(prop)) continue;  // paths are the server's: a run gets its own folder, files are uploaded
    if ("default" in prop && prop.default !== null && typeof prop.default !== "object") inputs[name] = prop.default;
  }
  return inputs;
}

async function loadWorkflows() {
  const page = await api("/workflows?limit=100");
  const select = $("workflow");
  select.replaceChildren();
  for (const wf of page.items) {
    state.workflows[wf.name] = wf;
    select.append(el("option", { value: wf.name }, `${wf.name} — ${wf.description || wf.ref}`));
  }
  select.onchange = () => {
    const wf = state.workflows[select.value];
    $("idea-label").hidden = !(wf.input_schema?.properties?.idea);
    $("inputs").value = JSON.stringify(defaults(wf.input_schema), null, 1);
    renderFileInputs(wf.input_schema);
  };
  select.onchange();
}

async function startRun(event) {
  event.preventDefault();
  $("start-error").textContent = "";
  try {
    const inputs = JSON.parse($("inputs").value || "{}");
    if (!$("idea-label").hidden && $("idea").value.trim()) inputs.idea = $("idea").value.trim();
    const chosen = [...$("files").querySelectorAll("input[type=file]")].filter((i) => i.files.length);
    let run;
    if (chosen.length) {
      const form = new FormData();
      form.append("workflow", $("workflow").value);
      form.append("inputs", JSON.stringify(inputs));
      for (const input of chosen) for (const file of input.files) form.append(input.dataset.field, file, file.name);
      run = await api("/runs", { method: "POST", body: form, json: false });
    } else {
      run = await api("/runs", { method: "POST", body: JSON.stringify({ workflow: $("workflow").value, inputs }) });
    }
    state.runs.set(run.id, run);
    renderRuns();
    openRun(run.id);
  } catch (error) {
    $("start-error").textContent = error instanceof SyntaxError ? `inputs are not JSON: ${error.message}` : error.message;
  }
}

// -- the runs list ---------------------------------------------------------------------------------

// The newest page of runs; "More runs" appends the next pages (refreshes keep what was loaded).
async function loadRuns() {
  const shown = Math.max(50, state.runsShown || 0);
  const runs = new Map();
  let offset = 0, next = null;
  while (offset < shown) {
    const page = await api(`/runs?limit=${Math.min(500, shown - offset)}&offset=${offset}`);
    for (const r of page.items) runs.set(r.id, r);
    next = page.next_offset;
    if (next === null) break;
    offset = next;
  }
  state.runs = runs;
  state.runsShown = runs.size;
  $("more-runs").hidden = next === null;
  renderRuns();
}

async function loadMoreRuns() {
  const page = await api(`/runs?limit=50&offset=${state.runs.size}`);
  for (const r of page.items) state.runs.set(r.id, r);
  state.runsShown = state.runs.size;
  $("more-runs").hidden = page.next_offset === null;
  renderRuns();
}

function renderRuns() {
  const list = $("runs");
  list.replaceChildren();
  const runs = [...state.runs.values()].sort((a, b) => b.created_at - a.created_at);
  for (const run of runs) {
    const item = el("li", { "data-run": run.id, onclick: () => openRun(run.id) },
      el("span", {}, `${run.workflow} · ${run.id}`), el("span", { class: `badge ${run.state}` }, run.state));
    if (state.run?.id === run.id) item.classList.add("selected");
    list.append(item);
  }
}

function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(state.token)}`;
}

// Where the browser can inflate them, frames come compressed (?compress=deflate): a busy run's stream
// is about twelve times smaller. Inflating is asynchronous, so frames are handled strictly in order.
const inflates = typeof DecompressionStream === "function";

function openStream(path, onMessages) {
  const compressed = inflates ? `${path}${path.includes("?") ? "&" : "?"}compress=deflate` : path;
  const socket = new WebSocket(socketUrl(compressed));
  let handled = Promise.resolve();
  socket.onmessage = (event) => {
    handled = handled.then(async () => {
      const text = typeof event.data === "string" ? event.data
        : await new Response(event.data.stream().pipeThrough(new DecompressionStream("deflate"))).text();
      const data = JSON.parse(text);
      onMessages(Array.isArray(data) ? data : [data]);
    }).catch((error) => console.error("stream frame", error));
  };
  return socket;
}

function followAllRuns(after = null) {
  state.allSocket?.close();
  let last = after;
  const socket = openStream(after ? `/ws/runs?after=${after}` : "/ws/runs", (messages) => {
    for (const m of messages) {
      last = m.event_id || last;
      if (m.event === "run.created" || m.event === "run.state") scheduleRunsRefresh();
    }
  });
  socket.onopen = () => $("live").classList.add("on");
  socket.onclose = (event) => {
    $("live").classList.remove("on");
    if (event.code === 1008) return logout("your session was revoked or expired — log in again");
    if (state.token && state.allSocket === socket) setTimeout(() => followAllRuns(last), 1000);
  };
  state.allSocket = socket;
}

function scheduleRunsRefresh() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(async () => { state.refreshTimer = null; await loadRuns().catch(() => {}); }, 150);
}

// -- one run ---------------------------------------------------------------------------------------

async function openRun(runId) {
  location.hash = runId;
  const run = await api(`/runs/${encodeURIComponent(runId)}`);
  state.run = run;
  state.tasks = new Map(run.tasks.map((t) => [t.name, t]));
  state.items = new Map();
  state.lastEvent = 0;
  state.reportShown = null;
  $("run").hidden = false;
  $("events").replaceChildren();
  renderRun();
  renderRuns();
  loadCosts();
  followRun(run.id, 0);
}

function followRun(runId, after) {
  state.runSocket?.close();
  const socket = openStream(`/ws/runs/${encodeURIComponent(runId)}?after=${after}`, (messages) => {
    if (state.runSocket !== socket) return; // a frame still being inflated when another run was opened
    for (const m of messages) onRunMessage(m);
  });
  socket.onclose = (event) => {
    if (event.code === 1000) return; // the run ended: its stream is complete
    if (event.code === 1008) return logout("your session was revoked or expired — log in again");
    // Dropped (a slow tab) or the network blinked: resume after the last event shown.
    if (state.token && state.runSocket === socket && state.run?.id === runId) {
      setTimeout(() => followRun(runId, state.lastEvent), event.code === 1013 ? 100 : 1000);
    }
  };
  state.runSocket = socket;
}

function onRunMessage(m) {
  if (m.type === "heartbeat" || m.event_id <= state.lastEvent) return;
  state.lastEvent = m.event_id;
  const d = m.data || {};
  if (m.event === "task.state") {
    const task = state.tasks.get(d.task);
    if (task) task.state = d.to;
    else if (d.task?.includes("[")) state.items.set(d.task, { step: d.step, state: d.to });
    // a step the report is made from may just have succeeded (or been retried): ask the server again
    if (task && (d.to === "succeeded" || state.run.report)) scheduleReportReload();
  } else if (m.event === "run.state") {
    state.run.state = d.to;
    const listed = state.runs.get(state.run.id);
    if (listed) { listed.state = d.to; renderRuns(); }
    if (FINISHED.has(d.to)) { loadCosts(); scheduleReportReload(); }
  }
  appendEvent(m);
  scheduleRender();
}

let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => { renderPending = false; renderRun(); });
}

// Events a task emits itself (progress, logs, errors) carry its id, not its name.
function taskName(m) {
  const d = m.data || {};
  if (d.task) return d.task;
  for (const task of state.tasks.values()) if (task.id === m.task_id) return task.name;
  return m.task_id != null ? `task ${m.task_id}` : "run";
}

function appendEvent(m) {
  const d = m.data || {};
  let text = m.event;
  const name = taskName(m);
  if (m.event === "task.state") text = `${name}: ${d.from} → ${d.to}`;
  else if (m.event === "run.state") text = `run: ${d.from} → ${d.to}`;
  else if (m.event === "task.progress") text = `${name}: ${Math.round(d.percent)}% ${d.message || ""}`;
  else if (m.event === "task.log") text = `${name}: ${d.message || ""}`;
  else if (m.event === "task.error") text = `${name}: attempt ${d.attempt ?? "?"} failed: ${d.error || ""}`;
  const list = $("events");
  list.append(el("li", { class: m.type, value: m.event_id, "data-type": m.type }, `${new Date(m.ts * 1000).toLocaleTimeString()} ${text}`));
  while (list.children.length > 300) list.firstChild.remove();
  list.scrollTop = list.scrollHeight;
}

function renderRun() {
  const run = state.run;
  $("run-title").textContent = `${run.workflow} · ${run.id}`;
  $("run-state").textContent = run.state;
  $("run-state").className = `badge ${run.state}`;
  const started = new Date(run.created_at * 1000).toLocaleString();
  $("run-meta").textContent = `started ${started}${run.error ? ` — ${run.error}` : ""}`;
  renderApprovals();
  renderReport();
  renderDag();
}

// -- the run's report: made by its workflow on the server; the page only knows its generic shape -----

// Fetch the run again (only its report is taken: the live state comes from the stream), at most every 250 ms.
function scheduleReportReload() {
  if (state.reportTimer) return;
  const runId = state.run.id;
  state.reportTimer = setTimeout(async () => {
    state.reportTimer = null;
    try {
      const run = await api(`/runs/${encodeURIComponent(runId)}`);
      if (state.run?.id !== runId) return;
      state.run.report = run.report;
      state.run.report_error = run.report_error;
      renderReport();
    } catch (error) {
      console.warn("report", error);
    }
  }, 250);
}

const VERDICT_WORDS = { all_met: "all met", incomplete: "incomplete", failed: "failed", nothing_checked: "nothing checked" };
const MARKS = { met: "✔", failed: "✘", not_implemented: "⊘", unchecked: "?", info: "·" };

function renderReport() {
  const run = state.run, box = $("report");
  const declared = state.workflows[run.workflow]?.report_from;
  const key = JSON.stringify([run.report, run.report_error, declared, FINISHED.has(run.state)]);
  if (key === state.reportShown) return;  // redrawn only when it changes (the page redraws on every event)
  state.reportShown = key;
  box.replaceChildren();
  box.hidden = false;
  const report = run.report;
  if (!report) {
    if (run.report_error) {
      box.append(el("p", { class: "error", "data-testid": "report-error" }, `no report: ${run.report_error}`));
    } else if (declared) {
      const steps = declared.join(", ");
      box.append(el("p", { class: "meta", "data-testid": "report-pending" }, FINISHED.has(run.state)
        ? `no report: the run ended before ${steps} succeeded`
        : `the report appears once ${steps} succeeded`));
    } else {
      box.hidden = true;  // this workflow names no report
    }
    return;
  }
  const counts = Object.entries(report.counts).filter(([, n]) => n).map(([k, n]) => `${n} ${k.replace("_", " ")}`).join(", ");
  box.append(el("h3", { "data-testid": "report-title" }, report.title),
    el("p", { class: "headline", "data-testid": "report-headline" }, report.headline),
    el("p", {}, el("span", { class: `verdict ${report.verdict}`, "data-testid": "report-verdict" },
      VERDICT_WORDS[report.verdict] || report.verdict), counts ? ` ${counts}` : ""));
  const facts = Object.entries(report.facts);
  if (facts.length) box.append(el("dl", { "data-testid": "report-facts" }, ...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
  if (report.rows.length) {
    const heads = ["", "id", report.subject_label, "status", ...report.columns, "reason"];
    const body = report.rows.map((row) => el("tr", { class: row.outcome, "data-row": row.id, "data-outcome": row.outcome },
      el("td", { class: "mark", title: row.outcome.replace("_", " ") }, MARKS[row.outcome] || ""),
      el("td", {}, row.id), el("td", {}, row.subject), el("td", { class: "status" }, row.status),
      ...report.columns.map((c) => el("td", {}, row.cells[c] ?? "")),
      el("td", { class: "reason" }, row.reason ?? "")));
    box.append(el("table", { "data-testid": "report-table" },
      el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", {}, h)))), el("tbody", {}, ...body)));
  }
  if (report.notes.length) {
    box.append(el("details", { class: "notes", "data-testid": "report-notes" },
      el("summary", {}, `notes (${report.notes.length}): what it left out or assumed`),
      el("ul", {}, ...report.notes.map((n) => el("li", {}, n)))));
  }
}

function renderApprovals() {
  const box = $("approvals");
  box.replaceChildren();
  for (const task of state.tasks.values()) {
    if (task.state !== "waiting") continue;
    const canAct = state.role !== "viewer";
    const decide = (verb) => async () => {
      try { await api(`/runs/${state.run.id}/tasks/${encodeURIComponent(task.name)}/${verb}`, { method: "POST", body: "{}" }); }
      catch (error) { box.append(el("p", { class: "error" }, error.message)); }
    };
    box.append(el("div", { class: "approval", "data-task": task.name },
      el("span", {}, `${task.name} awaits approval`),
      el("button", { "data-testid": `approve-${task.name}`, onclick: decide("approve"), ...(canAct ? {} : { disabled: "" }) }, "Approve"),
      el("button", { class: "reject", onclick: decide("reject"), ...(canAct ? {} : { disabled: "" }) }, "Reject")));
  }
}

// Layered drawing: a step's column is its longest distance from a root.
function renderDag() {
  const tasks = [...state.tasks.values()];
  const depth = new Map();
  const depthOf = (name, seen = new Set()) => {
    if (depth.has(name)) return depth.get(name);
    if (seen.has(name)) return 0;
    seen.add(name);
    const task = state.tasks.get(name);
    const d = task && task.dependencies.length ? 1 + Math.max(...task.dependencies.map((p) => depthOf(p, seen))) : 0;
    depth.set(name, d);
    return d;
  };
  tasks.forEach((t) => depthOf(t.name));
  const columns = [];
  for (const t of tasks) (columns[depth.get(t.name)] ||= []).push(t);
  // Boxes as wide as the longest name (up to a bound), drawn at 1:1 in a scrolling box: never shrunk.
  const longest = Math.max(8, ...tasks.map((t) => t.name.length));
  const W = Math.min(320, Math.max(150, Math.ceil(longest * 7.4) + 20)), H = 46, GX = 60, GY = 18, P = 16;
  const pos = new Map();
  columns.forEach((col, x) => col.forEach((t, y) => pos.set(t.name, { x: P + x * (W + GX), y: P + y * (H + GY) })));
  const width = P * 2 + columns.length * (W + GX) - GX;
  const height = P * 2 + Math.max(1, ...columns.map((c) => c.length)) * (H + GY) - GY;
  const critical = new Set(state.run.critical_path);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${Math.max(width, 200)} ${height}`);
  svg.setAttribute("width", String(Math.max(width, 200)));
  svg.setAttribute("height", String(height));
  const make = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  for (const t of tasks) {
    for (const dep of t.dependencies) {
      const a = pos.get(dep), b = pos.get(t.name);
      if (!a || !b) continue;
      const onPath = critical.has(dep) && critical.has(t.name);
      const x0 = a.x + W, y0 = a.y + H / 2, x1 = b.x, y1 = b.y + H / 2;
      let d;
      if (b.x - x0 <= GX + 1) {  // neighbouring columns: nothing in between
        const mid = (x0 + x1) / 2;
        d = `M${x0},${y0} C${mid},${y0} ${mid},${y1} ${x1},${y1}`;
      } else {  // across columns: along the gap above the target's row, never under another node
        const lane = b.y - GY / 2, inX = x0 + GX / 2, outX = x1 - GX / 2;
        d = `M${x0},${y0} C${inX},${y0} ${x0},${lane} ${inX},${lane} L${outX},${lane} C${x1},${lane} ${outX},${y1} ${x1},${y1}`;
      }
      svg.append(make("path", { class: `edge${onPath ? " critical" : ""}`, d, "data-edge": `${dep}->${t.name}` }));
    }
  }
  for (const t of tasks) {
    const p = pos.get(t.name);
    const g = make("g", { class: `node${critical.has(t.name) ? " critical" : ""}`, "data-task": t.name, "data-state": t.state });
    g.append(make("rect", { x: p.x, y: p.y, width: W, height: H, fill: `var(--${t.state})` }));
    g.append(make("text", { x: p.x + 8, y: p.y + 18 }, t.name));
    let sub = t.state;
    if (t.kind === "map") {
      const items = [...state.items.values()].filter((i) => i.step === t.step);
      if (items.length) sub += ` · ${items.filter((i) => i.state === "succeeded").length}/${items.length} items`;
    }
    g.append(make("text", { x: p.x + 8, y: p.y + 36 }, sub));
    g.append(make("title", {}, `${t.name}: ${t.state}${critical.has(t.name) ? " (critical path)" : ""}`));
    svg.append(g);
  }
  $("dag").replaceChildren(svg);
}

async function loadCosts() {
  const box = $("costs");
  try {
    const report = await api(`/runs/${state.run.id}/costs`);
    box.replaceChildren();
    const lines = report.by_model || [];
    if (!lines.length) {
      box.append(el("p", { class: "meta", "data-testid": "no-costs" },
        `no model calls — ${report.total?.calls ?? 0} calls, $${(report.total?.cost_usd ?? 0).toFixed(4)}`));
      return;
    }
    const top = Math.max(...lines.map((l) => l.cost_usd), 1e-9);
    for (const line of lines) {
      box.append(el("div", { class: "bar" }, el("span", { class: "label" }, line.key ?? line.name ?? "model"),
        barOf(Math.round(200 * line.cost_usd / top)),
        el("span", {}, `$${line.cost_usd.toFixed(4)} · ${line.calls} calls`)));
    }
  } catch (error) {
    box.replaceChildren(el("p", { class: "error" }, error.message));
  }
}

$("login-form").addEventListener("submit", login);
$("start-form").addEventListener("submit", startRun);
// an error about the last attempt is stale as soon as the form changes
for (const kind of ["input", "change"]) $("start-form").addEventListener(kind, () => { $("start-error").textContent = ""; });
$("logout").addEventListener("click", () => logout());
$("more-runs").addEventListener("click", () => loadMoreRuns().catch((error) => { $("start-error").textContent = error.message; }));
// the address names the run shown: editing it (or going back) switches runs
window.addEventListener("hashchange", () => {
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (state.token && wanted && wanted !== state.run?.id) openRun(wanted).catch((error) => { $("start-error").textContent = error.message; });
});
enter();
