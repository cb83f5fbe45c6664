// Fills every div.plot from its data-src (a Plotly figure as JSON) and keeps the studies
// table and an open study's page fresh. Text goes in through textContent only.
"use strict";

const REFRESH_MS = 3000;
// A study that runs nothing now may start trials later: its page asks whether it changed,
// less often. Figures are drawn again only when it did.
const IDLE_REFRESH_MS = 10000;

async function drawPlot(div) {
  const response = await fetch(div.dataset.src, { headers: { Accept: "application/json" } });
  const figure = await response.json();
  if (!response.ok) {
    div.textContent = figure.error || "This figure could not be drawn.";
    div.dataset.rendered = "error";
    return;
  }
  const layout = Object.assign({ autosize: true, height: 420 }, figure.layout || {});
  await Plotly.react(div, figure.data || [], layout, { responsive: true, displaylogo: false });
  div.dataset.rendered = "1";
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "-" : String(text);
  row.appendChild(td);
  return td;
}

async function refreshStudies(table) {
  const response = await fetch(table.dataset.src);
  if (!response.ok) return;
  const studies = await response.json();
  const body = document.createElement("tbody");
  for (const study of studies) {
    const row = document.createElement("tr");
    const first = cell(row, "");
    const link = document.createElement("a");
    link.href = "/study?name=" + encodeURIComponent(study.name);
    link.textContent = study.name;
    first.appendChild(link);
    for (const key of ["state", "best", "trials", "optimizer", "scheduler", "created"]) {
      cell(row, study[key]);
    }
    body.appendChild(row);
  }
  table.replaceChild(body, table.tBodies[0]);
  table.dataset.refreshed = String(Date.now());
}

async function refreshStudy(root) {
  const response = await fetch(root.dataset.src, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const study = await response.json();
  root.dataset.state = study.state;
  if (study.version === root.dataset.version) return;
  document.getElementById("facts").textContent = study.facts;
  const table = document.getElementById("trials");
  const body = document.createElement("tbody");
  for (const cells of study.rows) {
    const row = document.createElement("tr");
    for (const text of cells) cell(row, text);
    body.appendChild(row);
  }
  table.replaceChild(body, table.tBodies[0]);
  await Promise.all([...root.querySelectorAll("div.plot[data-src]")].map(drawPlot));
  root.dataset.version = study.version;
  root.dataset.refreshed = String(Date.now());
}

function watchStudy(root) {
  // One question at a time: the next is asked once the last is answered and drawn.
  const delay = () => (root.dataset.state === "running" ? REFRESH_MS : IDLE_REFRESH_MS);
  const tick = async () => {
    try {
      if (!document.hidden) await refreshStudy(root);
    } catch {
      // The dashboard stopped or the network failed: ask again later.
    } finally {
      setTimeout(tick, delay());
    }
  };
  setTimeout(tick, delay());
}

document.addEventListener("DOMContentLoaded", () => {
  for (const div of document.querySelectorAll("div.plot[data-src]")) drawPlot(div);
  const study = document.querySelector("div#study[data-src]");
  if (study) watchStudy(study);
  const studies = document.querySelector("table#studies[data-src]");
  if (studies) setInterval(() => refreshStudies(studies), REFRESH_MS);
});
