// Jobs page: GET /api/jobs, cancel (DELETE /api/jobs/{id}), details and output links from the job's result.
import { api, el, result, say, sayError } from "./api.js";

const form = document.getElementById("jobs-form");
const $ = (id) => document.getElementById(id);
let timer = null;

function links(value, out = []) {
  if (typeof value === "string" && value.startsWith("/api/")) out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => links(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => links(v, out));
  return out;
}

async function details(id) {
  try {
    const job = result(await api(`/api/jobs/${id}`));
    $("detail").hidden = false;
    $("detail-h").textContent = `Job ${job.kind} (${job.status})`;
    const urls = [...new Set(links(job.result))];
    $("detail-files").replaceChildren(...(urls.length
      ? [el("strong", {}, "Results: "), ...urls.flatMap((u) => [el("a", { href: u }, u), " "])]
      : [job.status === "succeeded" ? "No files in the result." : ""]));
    $("detail-json").textContent = JSON.stringify(job, null, 2);
    $("detail-h").scrollIntoView({ block: "nearest" });
  } catch (err) {
    sayError(err);
  }
}

async function cancel(id) {
  try {
    const job = result(await api(`/api/jobs/${id}`, { method: "DELETE" }));
    say(`Job ${id.slice(0, 8)}: ${job.status}.`, "ok");
    await load();
  } catch (err) {
    sayError(err);
  }
}

function row(j) {
  const active = j.status === "queued" || j.status === "running";
  return el("tr", { "data-job": j.id },
    el("td", {}, j.kind, el("br"), el("code", { class: "muted" }, j.id.slice(0, 8))),
    el("td", {}, el("span", { class: `badge ${j.status}` }, j.status), j.stage ? el("div", { class: "hint" }, j.stage) : null),
    el("td", {}, el("progress", { max: 100, value: j.progress, "aria-label": `Progress of ${j.kind}` }),
      ` ${Math.round(j.progress)} %`),
    el("td", {}, j.created_at ? new Date(j.created_at).toLocaleString() : ""),
    el("td", {},
      el("button", { type: "button", class: "secondary", onclick: () => details(j.id) }, "Details"), " ",
      active ? el("button", { type: "button", class: "danger", onclick: () => cancel(j.id) }, "Cancel") : null));
}

async function load() {
  const status = $("status-filter").value;
  try {
    const list = result(await api(`/api/jobs?limit=100${status ? `&status=${status}` : ""}`));
    $("jobs").querySelector("tbody").replaceChildren(...list.jobs.map(row));
    $("jobs-caption").textContent = `${list.total} job(s), newest first`;
    clearTimeout(timer);
    if (list.jobs.some((j) => j.status === "queued" || j.status === "running")) timer = setTimeout(load, 2000);
  } catch (err) {
    sayError(err);
  }
}

form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
load();
