// The admin page: start runs, watch their events stream in, promote model versions. Its compare view
// is report.js, its review queue review.js.
import { $, api, apiResponse, forgetToken, setToken, token, whenRefused } from "./admin-api.js";
import { drawChart } from "./chart.js";
import { refreshReport } from "./report.js";
import { refreshReview } from "./review.js";

const FINAL = document.body.dataset.finalStatuses.split(" "); // from the server's list of statuses
let watching = null; // { id, controller }

function showLogin(message = "") {
  forgetToken();
  $("login").hidden = false; $("panel").hidden = true; $("login-error").textContent = message;
}

async function showPanel() {
  $("login").hidden = true; $("panel").hidden = false;
  await refresh();
  await refreshReview();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  setToken($("token").value.trim());
  try { await api("/versions"); await showPanel(); } catch (e) { if (e.status !== 401) showLogin(e.message); }
});

function formBody(form) {
  const body = {};
  for (const [key, value] of new FormData(form).entries()) {
    if (value === "" || key === "augment" || key === "feedback") continue;
    if (key === "hidden") body.hidden = value.trim().split(/[\s,]+/).map(Number);
    else if (key === "layers") body.layers = value.trim();  // a layer preset's name, or the whole list
    else if (form.elements[key].tagName === "SELECT") body[key] = value; // a name from a list
    else body[key] = Number(value);
  }
  if (form.elements.augment.checked) body.augment = true;
  if (form.elements.feedback && form.elements.feedback.checked) body.feedback = true;
  return body;
}

$("train-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("train-error").textContent = "";
  try {
    const run = await api("/train", { method: "POST", headers: { "Content-Type": "application/json" },
                                      body: JSON.stringify(formBody(event.target)) });
    watch(run.id);
    refresh();
  } catch (e) { $("train-error").textContent = e.message; }
});

$("cancel").addEventListener("click", async () => {
  if (watching) await api(`/train/${watching.id}/cancel`, { method: "POST" }).catch((e) => alert(e.message));
});
$("rollback").addEventListener("click", async () => {
  await api("/versions/rollback", { method: "POST" }).catch((e) => alert(e.message));
  refresh();
});

// --- one run's live view, from its Server-Sent Events (read with fetch, which can send the token) ---
function resetView(id) {
  $("run-id").textContent = id; setStatus("starting");
  $("progress-bar").style.width = "0%"; $("progress-text").textContent = "waiting for the first batch";
  return { loss: [], train: [], test: [] };
}

function setStatus(status) {
  $("run-status").textContent = status; $("run-status").className = `badge ${status}`;
  $("cancel").disabled = FINAL.includes(status);
}

function show(kind, data, view) {
  if (kind === "batch" || kind === "epoch") {
    setStatus("running");
    $("progress-bar").style.width = `${(data.progress * 100).toFixed(1)}%`;
    const left = data.eta_s == null ? "" : `, ${Math.round(data.eta_s)} s left`;
    $("progress-text").textContent = `epoch ${data.epoch}: ${(data.progress * 100).toFixed(0)}%${left}`;
  }
  if (kind === "batch") {
    view.loss.push([data.epoch - 1 + data.batch / data.n_batches, data.loss]);
    drawChart($("loss-chart"), [{ color: series("loss"), points: view.loss }], { xLabel: "epoch", yMin: 0 });
  } else if (kind === "epoch") {
    view.train.push([data.epoch, data.train_accuracy]); view.test.push([data.epoch, data.test_accuracy]);
    drawChart($("acc-chart"), [{ color: series("train"), points: view.train, dots: true },
                              { color: series("test"), points: view.test, dots: true }], { xLabel: "epoch", digits: 4 });
  } else if (FINAL.includes(kind)) {
    setStatus(kind);
    const acc = data.test_accuracy != null ? `test accuracy ${(data.test_accuracy * 100).toFixed(2)}%` : "";
    $("progress-text").textContent = [acc, data.reason].filter(Boolean).join(" · ") || kind;
    refresh();
  }
}

async function watch(id) {
  if (watching) watching.controller.abort();
  const controller = new AbortController();
  watching = { id, controller };
  const view = resetView(id);
  let response;
  try {
    response = await apiResponse(`/train/${id}/events`, { signal: controller.signal });
  } catch (e) {
    if (e.name !== "AbortError") $("progress-text").textContent = e.message;  // aborted: another run is watched
    return;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "", kind = "message", data = "";
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ done: true }));
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, cut).replace(/\r$/, "");
      buffer = buffer.slice(cut + 1);
      if (line === "") { if (data) show(kind, JSON.parse(data), view); kind = "message"; data = ""; }
      else if (line.startsWith("event:")) kind = line.slice(6).trim();
      else if (line.startsWith("data:")) data += line.slice(5).trim();
    }
  }
}

// --- the lists ---
function row(cells, ...buttons) {
  const tr = document.createElement("tr");
  for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
  const td = document.createElement("td");
  for (const b of buttons) if (b) td.appendChild(b);
  tr.appendChild(td);
  return tr;
}

function button(label, onClick) {
  const b = document.createElement("button"); b.type = "button"; b.textContent = label;
  b.addEventListener("click", onClick); return b;
}

// the charts' colours are the legend's, set once in admin.css
const series = (name) => getComputedStyle(document.documentElement).getPropertyValue(`--series-${name}`).trim();
const pct = (v) => (v == null ? "–" : `${(v * 100).toFixed(2)}%`);
const score = (s) => (s && s.accuracy != null ? `${pct(s.accuracy)} of ${s.count}` : "–");
const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "–");

async function refresh() {
  const [versions, runs] = await Promise.all([api("/versions"), api("/runs")]);
  $("serving").textContent = versions.serving;
  const back = $("rollback");  // each rollback is one step back through the promotions
  back.disabled = versions.rollback_to == null;
  back.textContent = back.disabled ? "Roll back" : `Roll back to ${versions.rollback_to}`;
  back.title = back.disabled ? "Nothing to roll back to: no earlier version served, or those that did were deleted"
    : `Serve ${versions.rollback_to} again, the version that served before ${versions.promoted}`;
  const vbody = $("versions"); vbody.replaceChildren();
  for (const v of versions.versions) {  // the shipped model "default" last: it cannot be deleted
    const actions = v.id === versions.promoted ? [] : [button("Promote", () => promote(v.id, versions.serving)),
                                                      v.id === "default" ? null : button("Delete", () => remove(v.id))];
    const scores = v.scores || {};
    vbody.appendChild(row([v.id, pct(v.test_accuracy), score(scores.pendigits), score(scores.held_out),
                           v.id === "default" ? "shipped model" : when(v.created_at)], ...actions));
  }
  for (const tr of vbody.children) tr.classList.toggle("serving", tr.firstChild.textContent === versions.serving);
  refreshReport(versions);
  const rbody = $("runs"); rbody.replaceChildren();
  for (const r of runs) rbody.appendChild(row([r.id, r.status, pct(r.test_accuracy), when(r.started_at), r.host || "–"],
                                              button("Show", () => watch(r.id))));
  const active = runs.find((r) => !FINAL.includes(r.status));
  if (active && (!watching || watching.id !== active.id)) watch(active.id);
}

async function remove(id) {
  if (!confirm(`Delete version ${id} and its file? This cannot be undone.`)) return;
  await api(`/versions/${encodeURIComponent(id)}`, { method: "DELETE" }).catch((e) => alert(e.message));
  refresh();
}

// what would change, in one line, as the server's promote guard says it (GET /versions/compare)
async function whatChanges(id, serving) {
  const compared = await api(`/versions/compare?a=${encodeURIComponent(serving)}&b=${encodeURIComponent(id)}&shown=0`)
    .catch(() => null);  // no comparison yet (the shipped model's report is computed at start): ask without it
  return compared ? `Against ${serving}, it ${compared.summary}.` : "";
}

async function promote(id, serving) {
  const path = `/versions/${encodeURIComponent(id)}/promote`;
  if (!confirm(`Serve ${id}? ${await whatChanges(id, serving)}`.trim())) return;
  try {
    await api(path, { method: "POST" });
  } catch (e) {
    // worse on the held-out drawings: the server says by how much; the admin may insist
    if (e.message.includes("force=true") && confirm(`${e.message}\n\nPromote it anyway?`)) {
      await api(`${path}?force=true`, { method: "POST" }).catch((err) => alert(err.message));
    } else alert(e.message);
  }
  refresh();
}

whenRefused(() => showLogin("The token was refused."));
if (token()) showPanel().catch(() => {}); else showLogin();
