// Sign-up page: create the account, then sign in with the same credentials.
import { api, say } from "./api.js";
import { busy, carryNext, credentials, login } from "./auth.js";

const form = document.getElementById("signup-form");
carryNext("to-login");
form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const { email, password } = credentials(form);
  if (!email || password.length < 8) {
    say("Enter an e-mail (or user name) and a password of at least 8 characters.", "error");
    return;
  }
  if (password !== form.elements.password2.value) {
    say("The two passwords differ.", "error");
    return;
  }
  busy(form, "Creating your account…", async () => {
    await api("/api/auth/signup", { method: "POST", body: { email, password } });
    await login(email, password);
  });
});
