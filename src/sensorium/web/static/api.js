// Calls to the Sensorium HTTP API from the studio: same-origin credentials, the page's CSRF token,
// the envelope unwrapped, errors turned into ApiError with the API's code and message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : null;
}

/** fetch() with credentials and X-CSRF-Token; `body` may be FormData or a plain object (sent as JSON). */
export async function request(path, { method = "GET", body = undefined, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  const token = csrfToken();
  if (token) headers["X-CSRF-Token"] = token;
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  return fetch(path, { method, body: payload, headers, credentials: "same-origin" });
}

/** The JSON answer; throws ApiError on a non-2xx status (with the envelope's error code and message). */
export async function api(path, options = {}) {
  const res = await request(path, options);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!res.ok) {
    const err = (json && json.error) || {};
    throw new ApiError(res.status, err.code || `HTTP_${res.status}`, err.message || text.slice(0, 300) || res.statusText);
  }
  return json;
}

/** `data.result` of an envelope answer. */
export function result(envelope) {
  return envelope && envelope.data ? envelope.data.result : envelope;
}

/** Follow a job over server-sent events until it ends; `onState(job)` on every change. Resolves the final job. */
export function followJob(jobId, onState) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(`/api/jobs/${jobId}/events?interval=0.3`, { withCredentials: true });
    let last = null;
    const handle = (ev, end) => {
      last = JSON.parse(ev.data);
      onState(last);
      if (end) {
        source.close();
        resolve(last);
      }
    };
    source.addEventListener("progress", (ev) => handle(ev, false));
    source.addEventListener("end", (ev) => handle(ev, true));
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        reject(new ApiError(0, "STREAM_CLOSED", "The progress stream closed before the job ended."));
      }
    };
  });
}

/** The status line (role=status, read by screen readers). */
export function say(message, kind = "info") {
  const box = document.getElementById("status");
  box.textContent = message;
  box.dataset.kind = kind;
}

/** The sign-in page, coming back to this one afterwards. */
export function signInUrl() {
  return `/studio/login?next=${encodeURIComponent(window.location.pathname)}`;
}

export function sayError(err) {
  const code = err && err.code ? `${err.code}: ` : "";
  say(`${code}${err && err.message ? err.message : err}`, "error");
  // a session that ended (or was never there) with AUTH_MODE=accounts: offer the way back in
  if (err && err.status === 401 && document.body.dataset.authMode === "accounts") {
    const box = document.getElementById("status");
    box.append(" ", el("a", { href: signInUrl(), id: "sign-in-again" }, "Sign in again"));
  }
}

/** Create an element: el("a", {href: "/x", class: "c"}, "text", child...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function fmtTime(s) {
  if (s === null || s === undefined) return "";
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(2).padStart(5, "0")}`;
}

export function pct(x) {
  return `${Math.round(x * 100)} %`;
}

/** Run `fn` while the form's submit buttons are disabled; errors go to the status line. */
export async function busy(form, message, fn) {
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  form.setAttribute("aria-busy", "true");
  say(message);
  try {
    await fn();
  } catch (err) {
    sayError(err);
  } finally {
    buttons.forEach((b) => { if (!b.dataset.keepDisabled) b.disabled = false; });
    form.removeAttribute("aria-busy");
  }
}

/** Save a Blob as a file (subtitles, exports). */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
