// Music page: text recommendations, video analysis (job, SSE), players, `why`, and the preview render.
import { api, busy, el, followJob, say } from "./api.js";

const $ = (id) => document.getElementById(id);
let videoTask = null;

async function stats() {
  try {
    const d = (await api("/api/recommendations/database-stats")).data;
    $("stats").textContent = `Music library "${d.collection_name}": ${d.points_count} track(s), status ${d.status}.`;
  } catch (err) {
    $("stats").textContent = `Library statistics unavailable: ${err.message}`;
  }
}

async function preview(song, box) {
  const body = { task_id: videoTask, track_id: song.id };
  const accepted = await api("/api/recommendations/preview", { method: "POST", body });
  const prog = el("progress", { max: 100, value: 0, "aria-label": `Preview render of ${song.title}` });
  box.replaceChildren(prog);
  const end = await followJob(accepted.task_id, (j) => { prog.value = j.progress; });
  if (end.status !== "succeeded") throw new Error(`preview ${end.status}: ${end.error ? end.error.message : ""}`);
  box.replaceChildren(el("video", { controls: true, src: end.result.url, preload: "metadata", playsinline: true }),
    el("a", { href: end.result.url, download: "preview.mp4" }, "Download the preview"));
}

function song(s, i) {
  const facts = [s.duration, s.tempo_bpm ? `${Math.round(s.tempo_bpm)} BPM` : null, s.key,
    s.energy !== null && s.energy !== undefined ? `energy ${s.energy.toFixed(2)}` : null,
    s.start_offset !== null && s.start_offset !== undefined ? `start at ${s.start_offset.toFixed(2)} s` : null]
    .filter(Boolean).join(" · ");
  const box = el("div", { class: "preview" });
  const item = el("li", { class: "hit" },
    el("h3", {}, `${i + 1}. ${s.title}`, el("span", { class: "score" }, ` score ${s.score.toFixed(3)}`)),
    el("p", {}, [s.artists.join(", "), s.album].filter(Boolean).join(" — ")),
    el("p", { class: "hint" }, facts),
    s.audio_url ? el("audio", { controls: true, preload: "none", src: s.audio_url, "aria-label": `Play ${s.title}` }) : null,
    el("p", { class: "reason" }, el("strong", {}, "Why: "), s.why),
    s.alignment ? el("p", {}, el("strong", {}, "Cuts: "), s.alignment) : null);
  if (videoTask) {
    const btn = el("button", { type: "button", class: "secondary" }, "Render a preview with this track");
    btn.addEventListener("click", () => {
      btn.disabled = true;
      preview(s, box).then(() => say("Preview ready.", "ok")).catch((e) => say(e.message, "error"))
        .finally(() => { btn.disabled = false; });
    });
    item.append(btn, box);
  }
  return item;
}

function show(songs, raw, analysis = null) {
  $("results").hidden = false;
  $("analysis").replaceChildren();
  if (analysis) {
    $("analysis").append(el("p", {}, analysis.description),
      el("p", {}, el("strong", {}, "Music for it: "), analysis.music_recommendation),
      el("p", { class: "hint" }, `mood ${analysis.mood} · tempo ${analysis.tempo} · energy ${analysis.energy_level} · `
        + `genres ${analysis.genre_suggestions.join(", ")}`));
  }
  $("songs").replaceChildren(...songs.map(song));
  if (!songs.length) $("songs").append(el("li", {}, "The library has no tracks to recommend (index it first)."));
  $("raw").textContent = JSON.stringify(raw, null, 2);
}

$("text-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const query = $("query").value.trim();
  if (!query) { say("Describe the music first.", "error"); $("query").focus(); return; }
  busy(e.target, "Ranking the library...", async () => {
    videoTask = null;
    const body = { query, limit: parseInt($("limit").value || "5", 10) };
    const answer = await api("/api/recommendations/text-recommendations", { method: "POST", body });
    show(answer.data, answer);
    say(`${answer.total} track(s).`, "ok");
  });
});

$("video-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const file = $("video").files[0];
  if (!file) { say("Choose a video first.", "error"); $("video").focus(); return; }
  busy(e.target, "Analysing the video...", async () => {
    const fd = new FormData();
    fd.append("video", file);
    fd.append("limit", $("limit").value || "5");
    const accepted = await api("/api/recommendations/analyze-video", { method: "POST", body: fd });
    const end = await followJob(accepted.task_id, (j) => { $("video-progress").value = j.progress; });
    if (end.status !== "succeeded") throw new Error(`analysis ${end.status}: ${end.error ? end.error.message : ""}`);
    $("video-progress").value = 100;
    videoTask = accepted.task_id;
    show(end.result.songs, end, end.result.analysis);
    say(`${end.result.songs.length} track(s) for the video.`, "ok");
  });
});

stats();
