// Fills every div.plot from its data-src (a Plotly figure as JSON) and keeps the studies
// table and running studies' figures fresh. Text goes in through textContent only.
"use strict";

const REFRESH_MS = 3000;

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

document.addEventListener("DOMContentLoaded", () => {
  for (const div of document.querySelectorAll("div.plot[data-src]")) {
    drawPlot(div);
    if (div.dataset.refresh) setInterval(() => drawPlot(div), REFRESH_MS);
  }
  const studies = document.querySelector("table#studies[data-src]");
  if (studies) setInterval(() => refreshStudies(studies), REFRESH_MS);
});
