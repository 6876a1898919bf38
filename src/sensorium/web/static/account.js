// Account page: API keys and quota usage from /api/account/* when accounts are on; a clear message when not.
import { api, el, sayError } from "./api.js";

const $ = (id) => document.getElementById(id);

function data(answer) {
  return answer && answer.data && answer.data.result !== undefined ? answer.data.result : (answer && answer.data) || answer;
}

function when(v) {
  return v ? new Date(v).toLocaleString() : "never";
}

async function load() {
  let keys, usage;
  try {
    [keys, usage] = await Promise.all([api("/api/account/keys"), api("/api/account/usage")]);
  } catch (err) {
    if (err.status === 404) { $("account-off").hidden = false; return; }
    if (err.status === 401 || err.status === 403) {
      $("account-login").hidden = false;
      $("login-message").textContent = err.message;
      return;
    }
    sayError(err);
    return;
  }
  const k = data(keys);
  const list = Array.isArray(k) ? k : (k.keys || []);
  $("keys").querySelector("tbody").replaceChildren(...list.map((key) => el("tr", {},
    el("td", {}, key.name || key.label || "-"), el("td", {}, el("code", {}, key.prefix || key.id || "")),
    el("td", {}, when(key.created_at)), el("td", {}, when(key.last_used_at || key.last_used)))));
  $("keys-section").hidden = false;
  const u = data(usage);
  $("usage").replaceChildren(...Object.entries(u).flatMap(([name, value]) => [
    el("dt", {}, name.replaceAll("_", " ")),
    el("dd", {}, typeof value === "object" && value !== null ? JSON.stringify(value) : String(value))]));
  $("usage-section").hidden = false;
}

load();
