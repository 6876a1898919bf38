// The nav's "Sign out" (AUTH_MODE=accounts, signed in): POST /api/auth/logout with the page's CSRF token.
import { api, sayError } from "./api.js";

const button = document.getElementById("sign-out");
if (button) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("/api/auth/logout", { method: "POST" });
    } catch (err) {
      if (err.status !== 401) { sayError(err); button.disabled = false; return; }
    }
    window.location.assign("/studio/login");
  });
}
