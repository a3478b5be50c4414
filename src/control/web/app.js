// Parasol control dashboard: jobs, a job's replicas, live logs and metric curves, and the models
// that training jobs write. Plain JavaScript over the REST API (/api/v1); no build step.
"use strict";

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
let timer = null;
let logState = null; // {job, replica, offset}

function api(path) {
  return fetch("/api/v1" + path).then((r) =>
    r.ok ? r.json() : r.json().then((e) => Promise.reject(new Error(e.error || r.status))));
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function age(t) {
  if (!t) return "-";
  const s = Math.max(0, Date.now() / 1000 - t);
  if (s < 120) return Math.round(s) + "s";
  if (s < 7200) return Math.round(s / 60) + "m";
  return Math.round(s / 3600) + "h";
}

function state(s) {
  return `<span class="state state-${esc(s)}">${esc(s)}</span>`;
}

function setStatus(err) {
  document.getElementById("status").textContent = err ? "API: " + err.message : "";
}

async function renderList() {
  const { jobs } = await api("/jobs");
  const rows = jobs.map((j) => {
    const running = j.replicas.filter((r) => r.state === "Running").length;
    return `<tr data-job="${esc(j.name)}"><td><a href="#/jobs/${encodeURIComponent(j.name)}">` +
      `${esc(j.name)}</a></td><td>${esc(j.kind)}</td><td>${state(j.state)}</td>` +
      `<td>${running}/${j.replicas.length}</td><td>${j.restarts}</td>` +
      `<td>${age(j.createdAt)}</td><td class="muted">${esc(j.reason)}</td></tr>`;
  });
  const models = jobs.filter((j) => j.kind === "train" && j.spec.train && j.spec.train.args.out)
    .map((j) => `<tr data-model="${esc(j.name)}"><td>${esc(j.spec.train.args.out)}</td>` +
      `<td>${esc(j.spec.workingDir || "")}</td><td><a href="#/jobs/${encodeURIComponent(j.name)}">` +
      `${esc(j.name)}</a></td><td>${state(j.state)}</td></tr>`);
  document.getElementById("main").innerHTML =
    `<h2>Jobs</h2><table id="jobs"><tr><th>Name</th><th>Kind</th><th>State</th>` +
    `<th>Running</th><th>Restarts</th><th>Age</th><th>Reason</th></tr>` +
    (rows.join("") || `<tr><td colspan="7" class="muted">No jobs yet: ` +
      `parasol job submit -f job.yaml</td></tr>`) + `</table>` +
    `<h2>Models</h2><table id="models"><tr><th>Model directory</th><th>Under</th>` +
    `<th>Written by job</th><th>State</th></tr>` +
    (models.join("") || `<tr><td colspan="4" class="muted">No training jobs yet.</td></tr>`) +
    `</table>`;
}

// One SVG chart per metric name, one line per replica; x = step.
function chart(name, series) {
  const W = 420, H = 180, L = 48, B = 22, T = 8, R = 8;
  const pts = series.flatMap((s) => s.points);
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x) => L + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * (W - L - R);
  const sy = (y) => T + (y1 > y0 ? (y1 - y) / (y1 - y0) : 0.5) * (H - T - B);
  const lines = series.map((s, i) => {
    const p = s.points.map((q) => `${sx(q[0]).toFixed(1)},${sy(q[1]).toFixed(1)}`).join(" ");
    const c = COLORS[i % COLORS.length];
    const dots = s.points.length === 1 ? `<circle cx="${p.split(",")[0]}" ` +
      `cy="${p.split(",")[1]}" r="3" fill="${c}"/>` : "";
    return `<polyline data-replica="${esc(s.replica)}" data-points="${s.points.length}" ` +
      `fill="none" stroke="${c}" stroke-width="1.5" points="${p}"/>${dots}`;
  });
  const legend = series.map((s, i) =>
    `<span style="color:${COLORS[i % COLORS.length]}">■ ${esc(s.replica)}</span>`).join("");
  return `<div class="chart-box"><h3>${esc(name)}</h3>` +
    `<svg class="chart" data-series="${esc(name)}" width="${W}" height="${H}">` +
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#99a"/>` +
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#99a"/>` +
    `<text x="2" y="${T + 8}">${y1.toPrecision(4)}</text>` +
    `<text x="2" y="${H - B}">${y0.toPrecision(4)}</text>` +
    `<text x="${L}" y="${H - 6}">step ${x0}</text>` +
    `<text x="${W - R - 60}" y="${H - 6}">${x1}</text>${lines.join("")}</svg>` +
    `<div class="legend">${legend}</div></div>`;
}

async function renderJob(name) {
  const [job, metrics] = await Promise.all([
    api("/jobs/" + encodeURIComponent(name)),
    api("/jobs/" + encodeURIComponent(name) + "/metrics"),
  ]);
  const replicas = job.replicas.map((r) =>
    `<tr data-replica="${esc(r.name)}"><td>${esc(r.name)}</td><td>${state(r.state)}</td>` +
    `<td>${r.restarts}</td><td>${r.exitCode === null ? "-" : r.exitCode}</td>` +
    `<td>${r.pid || "-"}</td><td>127.0.0.1:${r.port}</td><td class="muted">${esc(r.reason)}` +
    `</td></tr>`).join("");
  const byName = {};
  for (const s of metrics.series) (byName[s.name] = byName[s.name] || []).push(s);
  const charts = Object.keys(byName).sort().map((n) => chart(n, byName[n])).join("");
  if (!logState || logState.job !== name ||
      !job.replicas.some((r) => r.name === logState.replica)) {
    logState = { job: name, replica: job.replicas.length ? job.replicas[0].name : "", offset: 0 };
  }
  const options = job.replicas.map((r) => `<option ${r.name === logState.replica ? "selected" : ""}>` +
    `${esc(r.name)}</option>`).join("");
  const main = document.getElementById("main");
  const oldLog = document.getElementById("log");
  const logText = oldLog && oldLog.dataset.replica === logState.replica ? oldLog.textContent : "";
  main.innerHTML =
    `<p><a href="#/">← all jobs</a></p><h2 id="job-title">${esc(job.name)} ${state(job.state)}</h2>` +
    `<p class="muted">${esc(job.kind)} · restarts ${job.restarts} · ${esc(job.reason)}</p>` +
    `<h2>Replicas</h2><table id="replicas"><tr><th>Replica</th><th>State</th><th>Restarts</th>` +
    `<th>Exit</th><th>PID</th><th>Address</th><th>Reason</th></tr>${replicas}</table>` +
    `<h2>Metrics</h2><div class="charts" id="charts">${charts ||
      '<p class="muted">No metrics reported yet.</p>'}</div>` +
    `<h2>Logs <select id="replica-select">${options}</select></h2>` +
    `<pre class="log" id="log" data-replica="${esc(logState.replica)}"></pre>`;
  const log = document.getElementById("log");
  log.textContent = logText;
  if (!logText) logState.offset = 0;
  document.getElementById("replica-select").onchange = (e) => {
    logState = { job: name, replica: e.target.value, offset: 0 };
    refresh();
  };
  await pollLog(log);
}

async function pollLog(log) {
  if (!logState.replica) return;
  for (let i = 0; i < 16; i++) {  // up to 16 MiB per refresh
    const r = await fetch(`/api/v1/jobs/${encodeURIComponent(logState.job)}/logs?replica=` +
      `${encodeURIComponent(logState.replica)}&offset=${logState.offset}`);
    if (!r.ok) return;
    const text = await r.text();
    logState.offset = Number(r.headers.get("X-Parasol-Next-Offset")) || logState.offset;
    log.textContent += text;
    if (!text) return;
  }
}

async function refresh() {
  clearTimeout(timer);
  const m = location.hash.match(/^#\/jobs\/(.+)$/);
  try {
    await (m ? renderJob(decodeURIComponent(m[1])) : renderList());
    setStatus(null);
  } catch (e) {
    setStatus(e);
  }
  timer = setTimeout(refresh, 2000);
}

window.addEventListener("hashchange", () => { logState = null; refresh(); });
refresh();
