// Fills every div.plot from its data-src (a Plotly figure as JSON) and keeps the studies
// table, an open study's page and the compare page fresh. Text goes in through textContent only.
"use strict";

const REFRESH_MS = 3000;
// A page that shows nothing running may still see trials start later: it keeps asking
// whether anything changed, each time waiting twice as long as the last, up to this.
const MAX_IDLE_REFRESH_MS = 30000;

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

// Asks `/api/studies` whether the list changed since the version `table` was drawn at (its
// data-version, sent in If-None-Match: an unchanged list is an empty 304); when it did,
// draws the rows again and keeps the new version, the answer's ETag.
async function refreshStudies(table) {
  const response = await fetch(table.dataset.src, {
    headers: { Accept: "application/json", "If-None-Match": `"${table.dataset.version}"` },
    cache: "no-store", // the 304 itself comes back, not the browser's stored copy
  });
  if (response.status === 304 || !response.ok) return;
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
  table.dataset.running = String(studies.some((study) => study.state === "running"));
  table.dataset.version = (response.headers.get("ETag") || "").replace(/^W\//, "").replace(/"/g, "");
  table.dataset.refreshed = String(Date.now());
}

// Asks `/api/study` whether the study of `source` (an element with data-src, data-version
// and data-state) changed; when it did, writes the facts and trials table it holds, if
// any, and returns the new version (null when nothing changed). The version drawn is the
// entity tag sent in If-None-Match: while the study is unchanged the answer is an empty
// 304, and the study (its trials table may be large) is downloaded only when it changed.
async function changedVersion(source) {
  const response = await fetch(source.dataset.src, {
    headers: { Accept: "application/json", "If-None-Match": `"${source.dataset.version}"` },
    cache: "no-store", // the 304 itself comes back, not the browser's stored copy
  });
  if (response.status === 304 || !response.ok) return null;
  const study = await response.json();
  source.dataset.state = study.state;
  if (study.version === source.dataset.version) return null;
  const facts = source.querySelector(".facts");
  if (facts) facts.textContent = study.facts;
  const table = source.querySelector("table#trials");
  if (table) {
    const body = document.createElement("tbody");
    for (const cells of study.rows) {
      const row = document.createElement("tr");
      for (const text of cells) cell(row, text);
      body.appendChild(row);
    }
    table.replaceChild(body, table.tBodies[0]);
  }
  return study.version;
}

// A study page watches its study; the compare page each of the studies it compares.
// The figures under `root` are drawn again when any of them changed.
async function refreshWatched(root, sources) {
  const versions = await Promise.all(sources.map(changedVersion));
  if (versions.every((version) => version === null)) return;
  await Promise.all([...root.querySelectorAll("div.plot[data-src]")].map(drawPlot));
  // Only once drawn: a figure that failed to draw is asked for again at the next poll.
  versions.forEach((version, i) => {
    if (version !== null) sources[i].dataset.version = version;
  });
  root.dataset.refreshed = String(Date.now());
}

// Calls `refresh` while the page is visible: REFRESH_MS after the last answer while
// `running()` says something runs, else twice the last wait, up to
// MAX_IDLE_REFRESH_MS. A click or a key press brings the wait back to REFRESH_MS. A hidden
// page (another tab, a minimised window) asks nothing, and asks at once when shown again.
// One question at a time: the next is asked once the last is answered and drawn. The wait
// for the next is written to root's data-delay (ms), the polls done to its data-polls.
function keepPolling(root, refresh, running) {
  let delay = REFRESH_MS;
  let timer = null;
  let asking = false;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(tick, delay);
    root.dataset.delay = String(delay);
  };
  const tick = async () => {
    timer = null;
    if (document.hidden) return; // asked again once shown
    asking = true;
    try {
      await refresh();
    } catch {
      // The dashboard stopped or the network failed: ask again later.
    } finally {
      asking = false;
      delay = running() ? REFRESH_MS : Math.min(2 * delay, MAX_IDLE_REFRESH_MS);
      if (!document.hidden) schedule();
      // Polls done, each counted once the next is scheduled: a test skipping ahead waits for it.
      root.dataset.polls = String(Number(root.dataset.polls || 0) + 1);
    }
  };
  document.addEventListener("visibilitychange", () => {
    clearTimeout(timer);
    timer = null;
    delay = REFRESH_MS;
    if (!document.hidden && !asking) tick();
  });
  const hurry = () => {
    if (timer === null || delay === REFRESH_MS) return;
    delay = REFRESH_MS;
    schedule();
  };
  document.addEventListener("pointerdown", hurry);
  document.addEventListener("keydown", hurry);
  schedule();
}

function watchStudies(root) {
  const sources = root.matches("[data-version]") ? [root] : [...root.querySelectorAll("[data-version]")];
  keepPolling(root, () => refreshWatched(root, sources), () => sources.some((s) => s.dataset.state === "running"));
}

document.addEventListener("DOMContentLoaded", () => {
  for (const div of document.querySelectorAll("div.plot[data-src]")) drawPlot(div);
  const watched = document.querySelector("div#study[data-src], div#compare");
  if (watched) watchStudies(watched);
  const studies = document.querySelector("table#studies[data-src]");
  if (studies) keepPolling(studies, () => refreshStudies(studies), () => studies.dataset.running === "true");
});
