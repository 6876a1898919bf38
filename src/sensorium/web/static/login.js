// Sign-in page.
import { busy, carryNext, credentials, login } from "./auth.js";
import { say } from "./api.js";

const form = document.getElementById("login-form");
carryNext("to-signup");
form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const { email, password } = credentials(form);
  if (!email || !password) {
    say("Enter your e-mail (or user name) and password.", "error");
    return;
  }
  busy(form, "Signing in…", () => login(email, password));
});
