// The list: the tenant's recent workflows (filtered by kind and status, the API's own
// query parameters) with their steps. Unfinished ones are followed by their live
// streams; the list itself is read again every few seconds to show new workflows.
// Clicking a workflow opens its detail view.

import { follow, json, Unauthorized } from "./api.js";
import { $, badge, el, isFinished, progressBar, setState, time, took } from "./dom.js";

const LIST_EVERY_MS = 5000;
const LIMIT = 20;
// Browsers open about six connections per host: leave some for the list and the user.
const MAX_STREAMS = 3;

const streams = new Map(); // workflow id -> AbortController of its stream
let timer = null;
let generation = 0; // bumped when the list is opened or closed: older reads are dropped
let filters = { kind: "", status: "" };
let onSignOut = () => {};

function stepRow(step) {
  const row = el("tr", "step");
  row.dataset.taskId = step.task_id;
  const name = el("td", "step-name");
  name.append(el("span", "arrow", "↳ "), el("span", null, step.name));
  const status = el("td");
  status.append(badge(step.status));
  const progress = el("td");
  if (step.progress) progress.append(progressBar(step.progress));
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
  body.dataset.kind = workflow.kind;
  const row = el("tr", "summary");
  const id = el("td", "id");
  const link = el("a", null, workflow.id);
  link.href = "#workflow=" + encodeURIComponent(workflow.id);
  id.append(link);
  const status = el("td");
  status.append(badge(workflow.status));
  const progress = el("td");
  progress.append(progressBar(workflow.progress));
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
  body.addEventListener("click", (event) => {
    if (!event.target.closest("a")) location.hash = link.getAttribute("href");
  });
  return body;
}

function rowOf(id) {
  return $("workflows").querySelector(`tbody[data-workflow-id="${CSS.escape(id)}"]`);
}

function show(workflow, { add }) {
  const old = rowOf(workflow.id);
  if (old) old.replaceWith(render(workflow));
  else if (add) $("workflows").append(render(workflow));
}

function stream(id) {
  const controller = new AbortController();
  streams.set(id, controller);
  follow(id, (workflow) => show(workflow, { add: false }), controller.signal)
    .catch((error) => {
      if (error instanceof Unauthorized) onSignOut(error.message);
    })
    .finally(() => {
      if (streams.get(id) === controller) streams.delete(id);
    });
}

function query() {
  const params = new URLSearchParams({ limit: String(LIMIT) });
  if (filters.kind) params.set("kind", filters.kind);
  if (filters.status) params.set("status", filters.status);
  return "/v1/workflows?" + params;
}

async function refresh() {
  clearTimeout(timer);
  const mine = generation;
  try {
    const page = await json(query());
    if (mine !== generation) return;
    const listed = new Set(page.items.map((item) => item.id));
    for (const old of $("workflows").querySelectorAll("tbody.workflow")) {
      if (!listed.has(old.dataset.workflowId)) old.remove();
    }
    for (const [id, controller] of streams) {
      if (!listed.has(id)) {
        controller.abort();
        streams.delete(id);
      }
    }
    for (const workflow of page.items) {
      if (!streams.has(workflow.id)) show(workflow, { add: true });
      // Keep the newest first, as the API lists them.
      $("workflows").append(rowOf(workflow.id));
    }
    const open = page.items.filter((item) => !isFinished(item));
    for (const workflow of open) {
      if (streams.size >= MAX_STREAMS) break;
      if (!streams.has(workflow.id)) stream(workflow.id);
    }
    const filtered = filters.kind || filters.status ? " matching the filters" : "";
    setState(
      page.items.length
        ? `${page.items.length} recent workflows${filtered}, ${open.length} unfinished`
        : `No workflows${filtered} yet.`,
    );
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof Unauthorized) return onSignOut(error.message);
    setState("Could not read the workflows: " + error.message);
  }
  timer = setTimeout(refresh, LIST_EVERY_MS);
}

export function openList(chosen, signOut) {
  onSignOut = signOut;
  generation += 1;
  const changed = chosen.kind !== filters.kind || chosen.status !== filters.status;
  filters = chosen;
  $("filter-kind").value = filters.kind;
  $("filter-status").value = filters.status;
  if (changed) {
    for (const old of $("workflows").querySelectorAll("tbody.workflow")) old.remove();
  }
  $("list").hidden = false;
  refresh();
}

export function closeList() {
  generation += 1;
  clearTimeout(timer);
  for (const controller of streams.values()) controller.abort();
  streams.clear();
  for (const old of $("workflows").querySelectorAll("tbody.workflow")) old.remove();
  $("list").hidden = true;
}
