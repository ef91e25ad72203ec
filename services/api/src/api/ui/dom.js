// Small DOM and formatting helpers the views share. Everything shown is set as text.

export const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

export function $(id) {
  return document.getElementById(id);
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function setState(text) {
  $("state").textContent = text;
}

// A workflow is over once its status is final and it has a finish time (a failed chord
// can still have a step running).
export function isFinished(workflow) {
  return FINISHED.has(workflow.status) && Boolean(workflow.finished_at);
}

export function moment(iso) {
  return iso ? new Date(iso).getTime() : null;
}

export function time(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function duration(ms) {
  if (ms < 1000) return Math.round(ms) + " ms";
  const seconds = ms / 1000;
  if (seconds < 60) return seconds.toFixed(1) + " s";
  return Math.floor(seconds / 60) + " min " + Math.round(seconds % 60) + " s";
}

export function took(workflow) {
  if (!workflow.finished_at) return "";
  return duration(moment(workflow.finished_at) - moment(workflow.created_at));
}

export function badge(status) {
  return el("span", "badge status-" + status, status);
}

// Widths are set through the CSSOM (element.style), which a policy without
// 'unsafe-inline' allows; a style attribute in markup it would refuse.
export function progressBar(progress) {
  const cell = el("div", "progress");
  const fill = el("div", "fill");
  const share = progress && progress.total ? progress.completed / progress.total : 0;
  fill.style.width = Math.round(share * 100) + "%";
  cell.append(fill, el("span", "count", progress ? `${progress.completed}/${progress.total}` : ""));
  return cell;
}
