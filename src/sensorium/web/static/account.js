// Account page (AUTH_MODE=accounts): who is signed in (GET /api/account), API keys (GET/POST/DELETE
// /api/account/keys: name, prefix, created, last used, revoked; a new key shown once with a copy button)
// and today's usage against the limits (GET /api/account/usage). A clear message when accounts are off.
import { api, el, result, say, sayError, signInUrl } from "./api.js";

const $ = (id) => document.getElementById(id);

function when(v) {
  return v ? new Date(v).toLocaleString() : "never";
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

function seconds(s) {
  return `${Number(s).toFixed(1)} s`;
}

function signInPrompt(message) {
  $("account-login").hidden = false;
  $("login-message").textContent = message;
  if (document.body.dataset.authMode === "accounts") {
    $("login-link").href = signInUrl();
  } else {
    // AUTH_MODE=apikey: no sessions, so nothing to sign in to from a browser
    $("login-link").parentElement.textContent = "This server takes API keys only (AUTH_MODE=apikey): "
      + "programs send `Authorization: Bearer KEY`; keys come from `sensorium keys create`.";
  }
}

function showUser(user, via) {
  $("user").replaceChildren(
    el("dt", {}, "E-mail or user name"), el("dd", { id: "user-email" }, user.email),
    el("dt", {}, "Role"), el("dd", {}, user.role),
    el("dt", {}, "Member since"), el("dd", {}, when(user.created_at)),
    el("dt", {}, "Signed in with"), el("dd", {}, via === "session" ? "this browser's session" : via || "-"));
  $("user-section").hidden = false;
}

function keyRow(key) {
  const revoked = Boolean(key.revoked_at);
  return el("tr", { "data-key": key.id, class: revoked ? "revoked" : "" },
    el("td", {}, key.name || el("span", { class: "muted" }, "(no name)")),
    el("td", {}, el("code", {}, `${key.prefix}…`)),
    el("td", {}, when(key.created_at)),
    el("td", {}, when(key.last_used_at)),
    el("td", {}, revoked
      ? el("span", { class: "badge revoked", title: when(key.revoked_at) }, `revoked ${when(key.revoked_at)}`)
      : el("span", { class: "badge active" }, "active")),
    el("td", {}, revoked ? "" : el("button", {
      type: "button", class: "danger", "aria-label": `Revoke key ${key.name || key.prefix}`,
      onclick: (ev) => revoke(key, ev.currentTarget),
    }, "Revoke")));
}

async function loadKeys() {
  const keys = result(await api("/api/account/keys"));
  $("keys").querySelector("tbody").replaceChildren(...keys.map(keyRow));
  const active = keys.filter((k) => !k.revoked_at).length;
  $("keys-caption").textContent = `${keys.length} key(s), ${active} active`;
  $("keys-section").hidden = false;
}

function quotaRow(label, used, limit, fmt) {
  const share = limit ? Math.min(1, used / limit) : null;
  return el("tr", { "data-quota": label },
    el("th", { scope: "row" }, label),
    el("td", {}, fmt(used)),
    el("td", {}, limit ? fmt(limit) : "unlimited"),
    el("td", {}, share === null ? "-" : el("meter", {
      min: "0", max: "1", low: "0.7", high: "0.9", optimum: "0", value: String(share),
      "aria-label": `${label}: ${Math.round(share * 100)} % of today's limit`,
    }), share === null ? "" : ` ${Math.round(share * 100)} %`));
}

async function loadUsage() {
  const u = result(await api("/api/account/usage"));
  const { today, limits } = u;
  $("usage").querySelector("tbody").replaceChildren(
    quotaRow("Requests", today.requests, limits.requests_per_day, String),
    quotaRow("Processing time", today.processing_seconds, limits.processing_seconds_per_day, seconds),
    quotaRow("Uploads", today.upload_bytes, limits.upload_bytes_per_day, bytes));
  $("usage-caption").textContent = `UTC day ${today.day}; rate limit: ${limits.requests_per_minute
    ? `${limits.requests_per_minute} requests per minute` : "none"}. Over a limit the API answers 429 `
    + "(QUOTA_EXCEEDED or RATE_LIMITED) with Retry-After.";
  $("days").querySelector("tbody").replaceChildren(...u.days.map((d) => el("tr", {},
    el("td", {}, d.day), el("td", {}, String(d.requests)), el("td", {}, seconds(d.processing_seconds)),
    el("td", {}, bytes(d.upload_bytes)))));
  $("usage-section").hidden = false;
}

async function revoke(key, button) {
  if (!window.confirm(`Revoke the key ${key.name || key.prefix}? Programs using it will get 401 at once.`)) return;
  button.disabled = true;
  try {
    await api(`/api/account/keys/${key.id}`, { method: "DELETE" });
    say(`Key ${key.name || key.prefix} revoked.`, "ok");
    await loadKeys();
  } catch (err) {
    button.disabled = false;
    sayError(err);
  }
}

async function copyKey() {
  const value = $("new-key-value").textContent;
  try {
    await navigator.clipboard.writeText(value);
  } catch {
    // no clipboard permission: select the key so Ctrl+C copies it
    const range = document.createRange();
    range.selectNodeContents($("new-key-value"));
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    say("Copy is not allowed here: the key is selected, press Ctrl+C.", "info");
    return;
  }
  say("Key copied to the clipboard.", "ok");
}

async function createKey(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const created = result(await api("/api/account/keys", { method: "POST", body: { name: form.elements.name.value.trim() } }));
    $("new-key-value").textContent = created.key;
    $("new-key").hidden = false;
    $("copy-key").focus();
    form.reset();
    say(`Key ${created.info.name || created.info.prefix} created: copy it now, it is not shown again.`, "ok");
    await loadKeys();
  } catch (err) {
    sayError(err);
  } finally {
    button.disabled = false;
  }
}

async function load() {
  let account;
  try {
    account = result(await api("/api/account"));
  } catch (err) {
    if (err.status === 401) { signInPrompt(err.message); return; }
    sayError(err);
    return;
  }
  if (account.auth_mode === "off") { $("account-off").hidden = false; return; }
  if (!account.user) {
    signInPrompt("This server's operator keys have no account: sign in as a user to manage keys.");
    return;
  }
  showUser(account.user, account.via);
  $("key-form").addEventListener("submit", createKey);
  $("copy-key").addEventListener("click", copyKey);
  try {
    await Promise.all([loadKeys(), loadUsage()]);
  } catch (err) {
    if (err.status === 401) signInPrompt(err.message);
    else sayError(err);
  }
}

load();
