// The status page: the tenant's workflows, read from the JSON API with the key.
//
// The key comes from the form or once from the URL fragment (#key=..., never sent to a
// server), is kept in sessionStorage (this tab only) and travels only as
// "Authorization: Bearer". Where the page is lives in the fragment too:
// #kind=email&status=failed filters the list, #workflow=<id> opens a workflow's detail.

import { key } from "./api.js";
import { cancelShown, closeDetail, openDetail } from "./detail.js";
import { $, setState } from "./dom.js";
import { closeList, openList } from "./list.js";

function place() {
  return new URLSearchParams(location.hash.slice(1));
}

function keyFromFragment() {
  const params = place();
  const given = params.get("key");
  if (!given) return;
  key.set(given);
  params.delete("key");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
}

function route() {
  if (!key.get()) return;
  const params = place();
  const workflow = params.get("workflow");
  if (workflow) {
    closeList();
    openDetail(workflow, signOut);
  } else {
    // The detail view's way back is to the list as it was, filters and all.
    $("back").href = location.hash || "#";
    closeDetail();
    openList({ kind: params.get("kind") || "", status: params.get("status") || "" }, signOut);
  }
}

function filter() {
  const params = new URLSearchParams();
  for (const name of ["kind", "status"]) {
    const value = $("filter-" + name).value;
    if (value) params.set(name, value);
  }
  location.hash = params.toString();
}

function signOut(reason) {
  key.forget();
  closeList();
  closeDetail();
  $("forget").hidden = true;
  $("login").hidden = false;
  setState(reason || "Enter an API key to see its tenant's workflows.");
}

function start() {
  $("login").hidden = true;
  $("forget").hidden = false;
  setState("Loading…");
  route();
}

keyFromFragment();
$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  key.set($("key").value.trim());
  $("key").value = "";
  start();
});
$("forget").addEventListener("click", () => signOut("Key forgotten."));
$("filters").addEventListener("change", filter);
$("cancel").addEventListener("click", () => cancelShown(signOut));
window.addEventListener("hashchange", route);
if (key.get()) start();
else signOut();
