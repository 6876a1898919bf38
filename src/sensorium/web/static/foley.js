// Foley page: upload -> process (SSE progress) -> footstep sound (SSE progress) -> mixed video + timeline.
import { api, busy, el, followJob, result, say } from "./api.js";
import { stepTimeline } from "./charts.js";

const form = document.getElementById("foley-form");
const $ = (id) => document.getElementById(id);
let taskId = null;

function showProgress(which, job) {
  const value = job.status === "succeeded" ? 100 : Math.round(job.progress);
  $(`${which}-progress`).value = value;
  $(`${which}-progress`).textContent = `${value} %`;
  $(`${which}-text`).textContent = `${value} %`;
  $("stage").textContent = `${job.kind}: ${job.status}${job.stage ? ` (${job.stage})` : ""}`;
}

async function runStep(which, accepted) {
  const job = result(accepted);
  showProgress(which, { ...job, progress: 0, kind: job.step });
  const end = await followJob(job.job_id, (j) => showProgress(which, j));
  if (end.status !== "succeeded") {
    throw new Error(`${end.kind} ${end.status}: ${end.error ? end.error.message : "no result"}`);
  }
  return end;
}

async function sound() {
  const params = { mode: $("mode").value };
  if ($("surface").value !== "auto") params.surface = $("surface").value;
  $("audio-progress").value = 0;
  await runStep("audio", await api(`/api/generate-audio-video/${taskId}`, { method: "POST", body: params }));
  const status = result(await api(`/api/status/${taskId}`));
  const doc = await api(`/api/export-json/${taskId}`);
  const video = $("mixed");
  video.src = `/api/download-video/${taskId}?kind=mixed&t=${Date.now()}`;
  $("video-link").href = `/api/download-video/${taskId}?kind=mixed`;
  $("csv-link").href = status.exports ? status.exports.csv : `/api/export-csv/${taskId}`;
  $("json-link").href = status.exports ? status.exports.json : `/api/export-json/${taskId}`;
  const s = status.summary;
  const cad = Object.entries(s.cadence_spm).map(([id, c]) => `walker ${id}: ${c ? `${c.toFixed(0)} steps/min` : "n/a"}`);
  $("summary").textContent = `${s.steps} step(s) by ${s.walkers} walker(s) of ${s.people} person(s) tracked; `
    + `surface ${s.surface} (${s.surface_reason}); mix: ${params.mode}. ${cad.join("; ")}`;
  $("timeline").replaceChildren(stepTimeline(doc.events, doc.people, doc.video ? doc.video.duration : s.duration));
  $("results").hidden = false;
  $("regen").disabled = false;
  say("Done: the video with its footstep track is ready.", "ok");
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const file = $("video").files[0];
  if (!file) { say("Choose a video first.", "error"); $("video").focus(); return; }
  busy(form, "Uploading...", async () => {
    $("results").hidden = true;
    for (const w of ["detect", "audio"]) showProgress(w, { progress: 0, status: "queued", kind: w });
    const fd = new FormData();
    fd.append("file", file);
    taskId = result(await api("/api/upload-video", { method: "POST", body: fd })).task_id;
    say("Detecting footsteps...");
    const body = $("surface").value !== "auto" ? { surface: $("surface").value } : {};
    await runStep("detect", await api(`/api/process/${taskId}`, { method: "POST", body }));
    say("Making the footstep sound...");
    await sound();
  }).then(() => { $("regen").disabled = !taskId; });
});

$("regen").addEventListener("click", () => {
  if (!taskId) return;
  busy(form, "Making the footstep sound again...", sound).then(() => { $("regen").disabled = !taskId; });
});
