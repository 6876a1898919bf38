// Sound search page: POST /api/sound/search with text, an example sound or frames; play the clips returned.
import { api, busy, el, result, say } from "./api.js";

const form = document.getElementById("sound-form");
const $ = (id) => document.getElementById(id);

async function loadCollections() {
  try {
    const list = result(await api("/api/library/sounds"));
    const select = $("collection");
    if (!list.collections.length) {
      say("No sound collection is indexed yet (POST /api/library/sounds/index or `sensorium library index`).");
      return;
    }
    select.replaceChildren(...list.collections.map((c) => el("option", { value: c.name },
      `${c.name} (${c.clips} clips)`)));
  } catch (err) {
    say(`Could not list the collections: ${err.message}`, "error");
  }
}

function hit(r, i) {
  const labels = r.matched_labels.map((m) => `${m.label} ${Math.round(m.score * 100)}%`);
  const heard = r.top_labels.map((m) => m.label);
  return el("li", { class: "hit" },
    el("h3", {}, `${i + 1}. ${r.fname || r.id}`, el("span", { class: "score" }, ` similarity ${r.similarity.toFixed(3)}`)),
    el("audio", { controls: true, preload: "none", src: r.audio_url, "aria-label": `Play ${r.fname || r.id}` }),
    el("p", { class: "reason" }, r.reason),
    labels.length ? el("p", {}, el("strong", {}, "Matched: "), labels.join(", ")) : null,
    heard.length ? el("p", {}, el("strong", {}, "Heard in the clip: "), heard.join(", ")) : null,
    r.caption ? el("p", {}, el("strong", {}, "Caption: "), r.caption) : null,
    r.labels.length ? el("p", {}, el("strong", {}, "Labels: "), r.labels.join(", ")) : null);
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const fd = new FormData();
  const query = $("query").value.trim();
  const audio = $("audio").files[0];
  const frames = [...$("frames").files];
  const given = [query && "text", audio && "example sound", frames.length && "frames"].filter(Boolean);
  if (given.length !== 1) {
    say(`Fill in exactly one of text, example sound or frames (${given.length ? given.join(", ") : "none"} given).`, "error");
    return;
  }
  if (query) fd.append("query", query);
  if (audio) fd.append("audio", audio);
  frames.forEach((f) => fd.append("frames", f));
  fd.append("top_k", $("top_k").value || "5");
  fd.append("collection", $("collection").value);
  busy(form, "Searching...", async () => {
    const env = await api("/api/sound/search", { method: "POST", body: fd });
    const r = result(env);
    $("results").hidden = false;
    const profile = (r.label_profile || []).map((l) => l.label).join(", ");
    $("summary").textContent = `${r.total_results} clip(s) from "${r.collection}" for ${r.mode} search`
      + (r.query ? ` "${r.query}"` : "") + (profile ? ` (heard as: ${profile})` : "") + ".";
    $("hits").replaceChildren(...r.results.map(hit));
    $("raw").textContent = JSON.stringify(env, null, 2);
    say(`${r.total_results} result(s).`, "ok");
  });
});

loadCollections();
