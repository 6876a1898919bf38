// Emotion page: POST /api/analyze/sentiment; the timeline chart and the utterances with each modality's label.
import { api, busy, el, fmtTime, pct, result, say } from "./api.js";
import { EMOTION_COLORS, emotionChart } from "./charts.js";

const form = document.getElementById("emotion-form");
const $ = (id) => document.getElementById(id);

function modality(m) {
  if (!m.available) return el("span", { class: "muted" }, m.reason || "unavailable");
  return `${m.emotion || "-"}${m.sentiment ? ` / ${m.sentiment}` : ""}`;
}

function row(u) {
  const time = u.start === null ? "" : `${fmtTime(u.start)}–${fmtTime(u.end)}`;
  return el("tr", {},
    el("td", {}, String(u.index + 1)), el("td", {}, time),
    el("td", {}, u.speaker ? `${u.speaker}: ${u.text}` : u.text),
    el("td", {}, el("span", { class: "dot", style: `background:${EMOTION_COLORS[u.emotion] || "#888"}` }),
      ` ${u.emotion} ${pct(u.emotion_scores[u.emotion] || 0)}`),
    el("td", {}, `${u.sentiment} ${pct(u.sentiment_scores[u.sentiment] || 0)}`),
    el("td", {}, modality(u.modalities.text)), el("td", {}, modality(u.modalities.face)),
    el("td", {}, modality(u.modalities.voice)));
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  const file = $("media").files[0];
  if (!!text === !!file) { say("Give either a text or a file (exactly one).", "error"); return; }
  const fd = new FormData();
  if (text) fd.append("text", text);
  else fd.append(file.type.startsWith("video/") ? "video" : "audio", file);
  busy(form, "Reading the emotions...", async () => {
    const env = await api("/api/analyze/sentiment", { method: "POST", body: fd });
    const r = result(env);
    $("results").hidden = false;
    const o = r.overall;
    $("overall").textContent = `Overall: ${o.emotion || "-"}, ${o.sentiment || "-"} · ${r.utterances.length} `
      + `utterance(s) from ${r.source}` + (r.notes.length ? ` · ${r.notes.join(" ")}` : "");
    $("chart").replaceChildren(r.timeline.length ? emotionChart(r.timeline, { textInput: r.source === "text" })
      : el("p", {}, "The timeline is empty."));
    $("chart-caption").textContent = r.source === "text"
      ? "Fused emotion scores per sentence (the API's timeline; x = sentence index)."
      : `Fused emotion scores every ${r.timeline_step} s (the API's timeline).`;
    $("utterances").querySelector("tbody").replaceChildren(...r.utterances.map(row));
    $("raw").textContent = JSON.stringify(env, null, 2);
    say("Done.", "ok");
  });
});
