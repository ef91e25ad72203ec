// The detail view's timeline: each step as a bar on one time axis, from the moment it
// was queued to its start (waiting) and from its start to its finish, or now (running).
//
// When is a step queued? The document lists steps in plan order, and every plan the API
// makes is a sequence of stages: a lone step, a chain's steps one by one, a group's
// steps (the same task) together, then a chord's callback. Consecutive steps of one task
// name are one stage. The first stage is queued when the workflow was created; a later
// stage when the last step of the stage before it finished (Celery publishes it then).

import { duration, el, moment } from "./dom.js";

const TICKS = 4;

function stages(steps) {
  const found = [];
  for (const step of steps) {
    const last = found[found.length - 1];
    if (last && last[0].name === step.name) last.push(step);
    else found.push([step]);
  }
  return found;
}

// Per step {step, queued, started, end} in epoch milliseconds (queued null: not yet),
// and the axis: from the workflow's creation to its finish (or now).
export function layout(workflow, now) {
  const origin = moment(workflow.created_at);
  const over = moment(workflow.finished_at);
  let ready = origin;
  let axisEnd = over ?? now;
  const lanes = [];
  for (const stage of stages(workflow.steps)) {
    let stageEnd = ready;
    for (const step of stage) {
      const started = moment(step.started_at);
      const finished = moment(step.finished_at);
      // An unfinished step waits or runs until now, or until its workflow ended.
      const end = Math.max(finished ?? over ?? now, started ?? 0);
      // null: the stage before has not finished, so this one is not queued yet.
      let queued = ready ?? started ?? finished;
      if (queued !== null) queued = Math.min(queued, started ?? end);
      lanes.push({ step, queued, started, end });
      if (queued !== null) axisEnd = Math.max(axisEnd, end);
      stageEnd = stageEnd === null || finished === null ? null : Math.max(stageEnd, finished);
    }
    ready = stageEnd;
  }
  return { origin, span: Math.max(axisEnd - origin, 1), lanes };
}

function place(node, from, to, axis) {
  const left = ((from - axis.origin) / axis.span) * 100;
  node.style.left = Math.max(0, left) + "%";
  node.style.width = Math.max(0, ((to - from) / axis.span) * 100) + "%";
}

function bar(kind, from, to, axis) {
  const node = el("div", "bar " + kind);
  node.title = `${kind} ${duration(to - from)}`;
  place(node, from, to, axis);
  return node;
}

function axisRow(axis) {
  const row = el("div", "lane axis");
  const ruler = el("div", "track ruler");
  for (let tick = 0; tick <= TICKS; tick += 1) {
    const label = el("span", "tick", duration((axis.span * tick) / TICKS));
    label.style.left = (tick / TICKS) * 100 + "%";
    if (tick === TICKS) label.classList.add("last");
    ruler.append(label);
  }
  row.append(el("div", "lane-name"), ruler, el("div", "lane-times"));
  return row;
}

function lane(entry, index, axis) {
  const { step, queued, started, end } = entry;
  const row = el("div", "lane");
  row.dataset.taskId = step.task_id;
  row.dataset.status = step.status;
  const name = el("div", "lane-name");
  name.append(el("span", null, `${index + 1}. ${step.name}`));
  const track = el("div", "track");
  const times = [];
  if (queued === null) {
    times.push("waits for the step before");
  } else {
    const waitedTo = started ?? end;
    track.append(bar("waiting", queued, waitedTo, axis));
    times.push("waited " + duration(waitedTo - queued));
    if (started !== null) {
      track.append(bar("running", started, end, axis));
      times.push((step.finished_at ? "ran " : "running for ") + duration(end - started));
    }
  }
  if (step.attempts > 1) {
    row.classList.add("retried");
    const marker = el("span", "marker", "↻" + step.attempts);
    marker.title = `${step.attempts} attempts`;
    name.append(" ", marker);
    times.push(`${step.attempts} attempts`);
  }
  row.append(name, track, el("div", "lane-times", times.join(" · ")));
  return row;
}

export function drawTimeline(container, workflow, now) {
  const axis = layout(workflow, now);
  container.replaceChildren(axisRow(axis), ...axis.lanes.map((entry, i) => lane(entry, i, axis)));
}
