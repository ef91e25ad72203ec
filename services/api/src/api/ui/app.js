// The status page: the tenant's recent workflows, read from the JSON API with the key.
//
// The key comes from the form or once from the URL fragment (#key=..., never sent to a
// server), is kept in sessionStorage (this tab only) and travels only as
// "Authorization: Bearer". Unfinished workflows are followed by long polls with ETags;
// the list itself is read again every few seconds to show new workflows.
"use strict";

const KEY = "switchyard.api-key";
const LIST_EVERY_MS = 5000;
const LONG_POLL_SECONDS = 25;
// Browsers open about six connections per host: leave some for the list and the user.
const MAX_LONG_POLLS = 3;
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

const following = new Map(); // workflow id -> AbortController of its long poll
let listTimer = null;

function $(id) {
  return document.getElementById(id);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function setState(text) {
  $("state").textContent = text;
}

function keyFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const key = params.get("key");
  if (key) {
    sessionStorage.setItem(KEY, key);
    history.replaceState(null, "", location.pathname + location.search);
  }
}

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(KEY), ...options.headers };
  const response = await fetch(path, { ...options, headers, cache: "no-store" });
  if (response.status === 401) throw new Unauthorized("the API key was refused");
  return response;
}

function time(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function took(workflow) {
  if (!workflow.finished_at) return "";
  const seconds = (new Date(workflow.finished_at) - new Date(workflow.created_at)) / 1000;
  return seconds < 60 ? seconds.toFixed(1) + " s" : (seconds / 60).toFixed(1) + " min";
}

function badge(status) {
  return el("span", "badge status-" + status, status);
}

function bar(progress) {
  const cell = el("div", "progress");
  const fill = el("div", "fill");
  const share = progress && progress.total ? progress.completed / progress.total : 0;
  fill.style.width = Math.round(share * 100) + "%";
  cell.append(fill, el("span", "count", progress ? `${progress.completed}/${progress.total}` : ""));
  return cell;
}

function stepRow(step) {
  const row = el("tr", "step");
  row.dataset.taskId = step.task_id;
  const name = el("td", "step-name");
  name.append(el("span", "arrow", "↳ "), el("span", null, step.name));
  const status = el("td");
  status.append(badge(step.status));
  const progress = el("td");
  if (step.progress) progress.append(bar(step.progress));
  const detail = el("td", "step-detail");
  detail.colSpan = 3;
  const parts = [`attempts ${step.attempts}`];
  if (step.worker) parts.push(`worker ${step.worker}`);
  if (step.error) parts.push(`${step.error.type}: ${step.error.message}`);
  detail.textContent = parts.join(" · ");
  row.append(name, el("td"), status, progress, detail);
  return row;
}

function render(workflow) {
  const body = el("tbody", "workflow");
  body.dataset.workflowId = workflow.id;
  body.dataset.status = workflow.status;
  const row = el("tr", "summary");
  const id = el("td", "id", workflow.id);
  const status = el("td");
  status.append(badge(workflow.status));
  const progress = el("td");
  progress.append(bar(workflow.progress));
  row.append(
    id,
    el("td", null, workflow.kind),
    status,
    progress,
    el("td", null, time(workflow.created_at)),
    el("td", null, took(workflow)),
    el("td", "request-id", workflow.request_id || ""),
  );
  body.append(row, ...workflow.steps.map(stepRow));
  return body;
}

function show(workflow) {
  const table = $("workflows");
  const fresh = render(workflow);
  const old = table.querySelector(`tbody[data-workflow-id="${workflow.id}"]`);
  if (old) old.replaceWith(fresh);
  else table.append(fresh);
}

async function follow(id, etag) {
  const controller = new AbortController();
  following.set(id, controller);
  try {
    while (true) {
      const response = await api(`/v1/workflows/${id}?wait=${LONG_POLL_SECONDS}`, {
        headers: etag ? { "If-None-Match": etag } : {},
        signal: controller.signal,
      });
      if (response.status === 304) continue;
      if (!response.ok) break;
      etag = response.headers.get("ETag");
      const workflow = await response.json();
      show(workflow);
      if (FINISHED.has(workflow.status) && workflow.finished_at) break;
    }
  } catch (error) {
    if (error instanceof Unauthorized) return signOut(error.message);
  } finally {
    following.delete(id);
  }
}

async function refresh() {
  try {
    const response = await api("/v1/workflows?limit=20");
    if (!response.ok) throw new Error(`the API answered ${response.status}`);
    const page = await response.json();
    const table = $("workflows");
    const listed = new Set(page.items.map((item) => item.id));
    for (const old of table.querySelectorAll("tbody.workflow")) {
      if (!listed.has(old.dataset.workflowId)) old.remove();
    }
    for (const workflow of page.items) {
      if (!following.has(workflow.id)) show(workflow);
    }
    // Keep the newest first, as the API lists them.
    for (const id of page.items.map((item) => item.id)) {
      table.append(table.querySelector(`tbody[data-workflow-id="${id}"]`));
    }
    const open = page.items.filter((item) => !FINISHED.has(item.status) || !item.finished_at);
    for (const workflow of open) {
      if (following.size >= MAX_LONG_POLLS) break;
      if (!following.has(workflow.id)) follow(workflow.id, null);
    }
    table.hidden = false;
    setState(
      page.items.length
        ? `${page.items.length} recent workflows, ${open.length} unfinished`
        : "No workflows yet.",
    );
  } catch (error) {
    if (error instanceof Unauthorized) return signOut(error.message);
    setState("Could not read the workflows: " + error.message);
  }
  listTimer = setTimeout(refresh, LIST_EVERY_MS);
}

function signOut(reason) {
  sessionStorage.removeItem(KEY);
  clearTimeout(listTimer);
  for (const controller of following.values()) controller.abort();
  following.clear();
  for (const old of document.querySelectorAll("tbody.workflow")) old.remove();
  $("workflows").hidden = true;
  $("forget").hidden = true;
  $("login").hidden = false;
  setState(reason || "Enter an API key to see its tenant's workflows.");
}

function start() {
  $("login").hidden = true;
  $("forget").hidden = false;
  setState("Loading…");
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  keyFromFragment();
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("key").value.trim());
    $("key").value = "";
    start();
  });
  $("forget").addEventListener("click", () => signOut("Key forgotten."));
  if (sessionStorage.getItem(KEY)) start();
  else signOut();
});
