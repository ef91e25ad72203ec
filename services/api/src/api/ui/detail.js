// The detail view of one workflow: its summary, the timeline of its steps, each step's
// error and result, report downloads and a cancel button. It follows the workflow's
// live stream and redraws on each document; while unfinished, a running bar grows
// with the clock.

import { download, follow, json, Refused, Unauthorized } from "./api.js";
import { $, badge, duration, el, isFinished, moment, setState, time, took } from "./dom.js";
import { drawTimeline } from "./timeline.js";

const CLOCK_MS = 1000;
const REPORT_STEP = "report.generate";

let shown = null; // {id, controller, clock, workflow}

function compact(value) {
  return JSON.stringify(value);
}

function field(list, name, value) {
  if (value === null || value === undefined || value === "") return;
  list.append(el("dt", null, name), el("dd", null, value));
}

function drawSummary(workflow) {
  const title = el("h2");
  title.append(el("span", "id", workflow.id), " ", badge(workflow.status));
  const facts = el("dl", "facts");
  field(facts, "kind", workflow.kind);
  field(facts, "origin", workflow.origin);
  field(facts, "created", time(workflow.created_at));
  field(facts, "finished", time(workflow.finished_at));
  field(facts, "took", took(workflow));
  field(facts, "request id", workflow.request_id);
  $("summary").replaceChildren(title, facts);
}

function reportLink(step) {
  const reportId = step.result && step.result.report_id;
  if (step.name !== REPORT_STEP || step.status !== "succeeded" || !reportId) return null;
  const link = el("a", "download", `Download report ${reportId}`);
  link.href = `/v1/reports/${encodeURIComponent(reportId)}/content`;
  link.dataset.reportId = reportId;
  link.addEventListener("click", (event) => {
    event.preventDefault();
    download(link.getAttribute("href"), `report-${reportId}`).catch((error) => {
      link.after(el("span", "error", ` could not download: ${error.message}`));
    });
  });
  return link;
}

function stepItem(step) {
  const item = el("li", "step-detail");
  item.dataset.taskId = step.task_id;
  const head = el("p");
  head.append(el("strong", null, step.name), " ", badge(step.status));
  const facts = el("dl", "facts");
  field(facts, "attempts", String(step.attempts));
  field(facts, "worker", step.worker);
  field(facts, "started", time(step.started_at));
  field(facts, "finished", time(step.finished_at));
  if (step.started_at && step.finished_at) {
    field(facts, "ran", duration(moment(step.finished_at) - moment(step.started_at)));
  }
  if (step.progress) field(facts, "progress", `${step.progress.completed}/${step.progress.total}`);
  item.append(head, facts);
  if (step.error) item.append(el("p", "error", `${step.error.type}: ${step.error.message}`));
  if (step.result !== null && step.result !== undefined) {
    item.append(el("code", "result", compact(step.result)));
  }
  const link = reportLink(step);
  if (link) item.append(el("br"), link);
  return item;
}

function drawOutcome(workflow) {
  const parts = [];
  if (workflow.error) {
    const error = workflow.error;
    parts.push(el("p", "error workflow-error", `Workflow ${workflow.status}: ${error.type}: ${error.message}`));
  }
  if (workflow.result !== null && workflow.result !== undefined) {
    const result = el("p", "workflow-result", "Result: ");
    result.append(el("code", "result", compact(workflow.result)));
    parts.push(result);
  }
  $("outcome").replaceChildren(...parts);
}

function draw(workflow) {
  const view = $("detail");
  view.dataset.workflowId = workflow.id;
  view.dataset.status = workflow.status;
  drawSummary(workflow);
  $("cancel").hidden = isFinished(workflow);
  drawTimeline($("timeline"), workflow, Date.now());
  $("steps").replaceChildren(...workflow.steps.map(stepItem));
  drawOutcome(workflow);
  setState(isFinished(workflow) ? `Workflow ${workflow.status}.` : "Following the workflow live.");
}

export function openDetail(id, signOut) {
  closeDetail();
  const controller = new AbortController();
  shown = { id, controller, clock: null, workflow: null };
  const current = shown;
  for (const part of ["summary", "timeline", "steps", "outcome", "cancel-state"]) {
    $(part).replaceChildren();
  }
  $("cancel").hidden = true;
  $("detail").dataset.workflowId = id;
  delete $("detail").dataset.status;
  $("detail").hidden = false;
  setState("Loading the workflow…");
  const onDocument = (workflow) => {
    current.workflow = workflow;
    draw(workflow);
  };
  follow(id, onDocument, controller.signal).catch((error) => {
    if (error instanceof Unauthorized) return signOut(error.message);
    setState(
      error instanceof Refused && error.status === 404
        ? "No such workflow for this key."
        : "Could not follow the workflow: " + error.message,
    );
  });
  current.clock = setInterval(() => {
    if (current.workflow && !isFinished(current.workflow)) {
      drawTimeline($("timeline"), current.workflow, Date.now());
    }
  }, CLOCK_MS);
}

export function closeDetail() {
  if (shown) {
    shown.controller.abort();
    clearInterval(shown.clock);
    shown = null;
  }
  $("detail").hidden = true;
}

// The answer is not drawn: the stream brings the cancelled document like any other.
export async function cancelShown(signOut) {
  if (!shown) return;
  const button = $("cancel");
  button.disabled = true;
  $("cancel-state").textContent = "Cancelling…";
  try {
    await json(`/v1/workflows/${encodeURIComponent(shown.id)}/cancel`, { method: "POST" });
    $("cancel-state").textContent = "Cancel requested.";
  } catch (error) {
    if (error instanceof Unauthorized) return signOut(error.message);
    $("cancel-state").textContent = "Could not cancel: " + error.message;
  } finally {
    button.disabled = false;
  }
}
