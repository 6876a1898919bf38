// Sign-in and sign-up: JSON to POST /api/auth/login and /api/auth/signup (public paths, no CSRF token);
// the login answer sets the HttpOnly session cookie, then the page goes where it was asked to (`?next=`).
import { api, busy, say } from "./api.js";

/** Where to go after signing in: only a studio path (no open redirect). */
export function nextPage() {
  const next = new URLSearchParams(window.location.search).get("next") || "";
  return /^\/studio\/[a-z]+$/.test(next) ? next : "/studio/analyze";
}

export async function login(email, password) {
  await api("/api/auth/login", { method: "POST", body: { email, password } });
  say("Signed in.", "ok");
  window.location.assign(nextPage());
}

/** Keep `?next=` on the link to the other form. */
export function carryNext(linkId) {
  const link = document.getElementById(linkId);
  const next = new URLSearchParams(window.location.search).get("next");
  if (link && next) link.href = `${link.pathname}?next=${encodeURIComponent(next)}`;
}

export function credentials(form) {
  return { email: form.elements.email.value.trim(), password: form.elements.password.value };
}

export { busy };
