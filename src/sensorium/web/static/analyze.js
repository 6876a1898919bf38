// Analyze page: POST /api/analyze/image|video|audio and draw what came back.
import { api, busy, download, el, request, result, say, ApiError } from "./api.js";
import { soundEventsChart } from "./charts.js";
import { boxedCanvas, loadImage, loadVideo, renderTranscript, seek } from "./media.js";

const form = document.getElementById("analyze-form");
const input = document.getElementById("file");
const drop = document.getElementById("drop");
const $ = (id) => document.getElementById(id);

function kindOf(file) {
  const t = file.type || "";
  if (t.startsWith("image/")) return "image";
  if (t.startsWith("video/")) return "video";
  if (t.startsWith("audio/")) return "audio";
  const ext = file.name.split(".").pop().toLowerCase();
  if (["jpg", "jpeg", "png", "webp", "bmp", "gif"].includes(ext)) return "image";
  if (["mp4", "mov", "mkv", "webm", "avi"].includes(ext)) return "video";
  return "audio";
}

drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
drop.setAttribute("tabindex", "0");
["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((t) => drop.addEventListener(t, () => drop.classList.remove("over")));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  if (e.dataTransfer.files.length) {
    input.files = e.dataTransfer.files;
    say(`Chosen: ${input.files[0].name}`);
  }
});

function reset() {
  for (const id of ["frames", "player", "transcript", "events"]) $(id).replaceChildren();
  for (const id of ["media-section", "transcript-section", "events-section", "answer"]) $(id).hidden = true;
  $("description").textContent = "";
}

function showAnswer(r) {
  if (r.answer) {
    $("answer").hidden = false;
    $("answer").textContent = `Answer: ${r.answer}`;
  }
}

async function showImage(file, url) {
  const fd = new FormData();
  fd.append("image", file);
  if ($("prompt").value.trim()) fd.append("prompt", $("prompt").value.trim());
  const env = await api("/api/analyze/image", { method: "POST", body: fd });
  const r = result(env);
  $("description").textContent = r.description;
  showAnswer(r);
  const img = await loadImage(url).catch(() => null);
  const w = img ? img.naturalWidth : r.image.width, h = img ? img.naturalHeight : r.image.height;
  const objs = r.objects.map((o) => `${o.label} (${Math.round(o.score * 100)}%)`).join(", ") || "no objects";
  $("frames").append(el("figure", {}, boxedCanvas(img, w, h, r.objects, r.image.width, r.image.height,
    `The image with ${r.objects.length} object boxes: ${objs}`), el("figcaption", {}, objs)));
  return env;
}

async function subtitles(file, format) {
  const fd = new FormData();
  fd.append("file", file);
  fd.append("response_format", format);
  const res = await request("/v1/audio/transcriptions", { method: "POST", body: fd, accept: "text/plain, text/vtt" });
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, await res.text());
  const base = file.name.replace(/\.[^.]+$/, "") || "subtitles";
  download(await res.blob(), `${base}.${format}`);
  say(`Subtitles saved as ${base}.${format}.`);
}

async function showTranscript(file, url, isVideo) {
  const fd = new FormData();
  fd.append("audio", file);
  fd.append("word_level_timestamps", "true");
  const env = await api("/api/analyze/audio", { method: "POST", body: fd });
  const r = result(env);
  const player = el(isVideo ? "video" : "audio", { controls: true, src: url, id: "playback", preload: "metadata",
                                                  playsinline: true });
  $("player").append(player);
  $("media-section").hidden = false;
  $("transcript-section").hidden = false;
  if (!r.has_speech) {
    $("transcript").replaceChildren(el("p", {}, "No speech was heard in this file."));
  } else {
    renderTranscript($("transcript"), r.segments, player);
  }
  $("srt-btn").onclick = () => subtitles(file, "srt").catch((e) => say(e.message, "error"));
  $("vtt-btn").onclick = () => subtitles(file, "vtt").catch((e) => say(e.message, "error"));
  return env;
}

async function showVideo(file, url) {
  const fd = new FormData();
  fd.append("video", file);
  fd.append("num_frames", $("num_frames").value || "4");
  if ($("prompt").value.trim()) fd.append("prompt", $("prompt").value.trim());
  const env = await api("/api/analyze/video", { method: "POST", body: fd });
  const r = result(env);
  $("description").textContent = r.description;
  showAnswer(r);
  const video = await loadVideo(url);
  for (const f of r.frames) {
    if (video) await seek(video, f.timestamp ?? 0);
    const w = video ? video.videoWidth : r.width, h = video ? video.videoHeight : r.height;
    const t = f.timestamp !== undefined ? `${f.timestamp.toFixed(2)} s` : `frame ${f.frame_number}`;
    const canvas = boxedCanvas(video, w, h, f.objects, r.width, r.height, `Frame at ${t}: ${f.description}`);
    $("frames").append(el("figure", {}, canvas, el("figcaption", {}, el("strong", {}, t), ` ${f.description}`)));
  }
  const audio = r.audio || {};
  if (audio.sound_events && audio.sound_events.length) {
    $("events").append(soundEventsChart(audio.sound_events, r.duration));
    $("events-section").hidden = false;
  }
  const answers = [env];
  if (r.has_audio) answers.push(await showTranscript(file, url, true));
  else {
    $("player").append(el("video", { controls: true, src: url, preload: "metadata", playsinline: true }));
    $("media-section").hidden = false;
  }
  return answers;
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const file = input.files[0];
  if (!file) { say("Choose a file first.", "error"); input.focus(); return; }
  const kind = kindOf(file);
  busy(form, `Analysing the ${kind}...`, async () => {
    reset();
    const url = URL.createObjectURL(file);
    $("results").hidden = false;
    let raw;
    if (kind === "image") raw = await showImage(file, url);
    else if (kind === "video") raw = await showVideo(file, url);
    else raw = await showTranscript(file, url, false);
    $("raw").textContent = JSON.stringify(raw, null, 2);
    say(`Done: ${file.name} analysed.`, "ok");
    $("results-h").focus?.();
  });
});
