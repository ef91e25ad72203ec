// The JSON API as the page calls it: always with the tab's key as a bearer token.
//
// The live status stream is read with fetch() and a stream reader, not EventSource,
// which cannot send an Authorization header.

import { isFinished } from "./dom.js";

const KEY = "switchyard.api-key";
const RETRY_MS = 2000;

export class Unauthorized extends Error {}

export class Refused extends Error {
  constructor(status, detail) {
    super(detail || `the API answered ${status}`);
    this.status = status;
  }
}

export const key = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  forget: () => sessionStorage.removeItem(KEY),
};

export async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + key.get(), ...options.headers };
  const response = await fetch(path, { ...options, headers, cache: "no-store" });
  if (response.status === 401) throw new Unauthorized("the API key was refused");
  return response;
}

async function refusal(response) {
  let detail = "";
  try {
    const body = await response.json();
    detail = typeof body.detail === "string" ? body.detail : "";
  } catch {
    // not JSON: the status says enough
  }
  return new Refused(response.status, detail);
}

export async function json(path, options = {}) {
  const response = await api(path, options);
  if (!response.ok) throw await refusal(response);
  return response.json();
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// Server-sent events from a response body: {id, event, data} for each one, comments
// (the stream's heartbeats) skipped.
async function* events(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = { id: null, event: "message", data: [] };
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (name === "data") fields.data.push(text);
        else if (name === "id" || name === "event") fields[name] = text;
      }
      if (fields.data.length) yield { ...fields, data: fields.data.join("\n") };
    }
  }
}

// Call onDocument with the workflow's document at once and on each change, until it is
// finished or signal aborts. A dropped stream is opened again with Last-Event-ID, so
// nothing already shown is sent again.
export async function follow(id, onDocument, signal) {
  let last = null;
  while (!signal.aborted) {
    try {
      const response = await api(`/v1/workflows/${encodeURIComponent(id)}/events`, {
        headers: last ? { "Last-Event-ID": last } : {},
        signal,
      });
      // Too many held requests, or the API cannot reach its database: try again later.
      if (response.status === 429 || response.status >= 500) {
        const seconds = Number(response.headers.get("Retry-After")) || RETRY_MS / 1000;
        await sleep(seconds * 1000, signal);
        continue;
      }
      if (!response.ok) throw await refusal(response);
      for await (const event of events(response.body)) {
        if (event.event !== "workflow") continue;
        last = event.id;
        const workflow = JSON.parse(event.data);
        onDocument(workflow);
        if (isFinished(workflow)) return;
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof Unauthorized || error instanceof Refused) throw error;
      // the connection dropped: open it again below
    }
    await sleep(RETRY_MS, signal);
  }
}

function filename(response, fallback) {
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = disposition.match(/filename="([^"]+)"/);
  return match ? match[1] : fallback;
}

// A download needs the key, so a plain link cannot do it: fetch the content with the
// header and hand the browser a blob URL to save.
export async function download(path, fallbackName) {
  const response = await api(path);
  if (!response.ok) throw await refusal(response);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename(response, fallbackName);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
