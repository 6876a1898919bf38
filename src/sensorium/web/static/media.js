// Frames and boxes on canvases, and transcripts that follow playback (Analyze page helpers).
import { el, fmtTime } from "./api.js";

const BOX_COLORS = ["#ffb300", "#00e5ff", "#ff4081", "#76ff03", "#ffffff"];

/** Draw `source` (an image or a video at its current time) and the API's boxes on a new canvas. */
export function boxedCanvas(source, srcW, srcH, objects, apiW, apiH, label) {
  const canvas = el("canvas", { width: srcW, height: srcH, role: "img", "aria-label": label, class: "frame" });
  const ctx = canvas.getContext("2d");
  try {
    ctx.drawImage(source, 0, 0, srcW, srcH);
  } catch {
    ctx.fillStyle = "#222";
    ctx.fillRect(0, 0, srcW, srcH);
  }
  const sx = srcW / (apiW || srcW), sy = srcH / (apiH || srcH);
  ctx.lineWidth = Math.max(2, srcW / 320);
  ctx.font = `${Math.max(12, Math.round(srcW / 40))}px sans-serif`;
  objects.forEach((o, i) => {
    const [x1, y1, x2, y2] = o.box;
    const color = BOX_COLORS[i % BOX_COLORS.length];
    ctx.strokeStyle = color;
    ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
    const text = `${o.label} ${Math.round(o.score * 100)}%`;
    const tw = ctx.measureText(text).width + 8;
    const th = parseInt(ctx.font, 10) + 6;
    ctx.fillStyle = "rgba(0,0,0,0.75)";
    ctx.fillRect(x1 * sx, Math.max(0, y1 * sy - th), tw, th);
    ctx.fillStyle = color;
    ctx.fillText(text, x1 * sx + 4, Math.max(th - 6, y1 * sy - 6));
  });
  return canvas;
}

export function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("The browser cannot display this image."));
    img.src = url;
  });
}

/** A hidden <video> ready to seek, or null when the browser cannot decode the file. */
export function loadVideo(url) {
  return new Promise((resolve) => {
    const v = el("video", { muted: true, preload: "auto", playsinline: true });
    v.muted = true;
    v.onloadeddata = () => resolve(v);
    v.onerror = () => resolve(null);
    v.src = url;
    setTimeout(() => resolve(null), 15000);
  });
}

export function seek(video, t) {
  return new Promise((resolve) => {
    const done = () => { video.removeEventListener("seeked", done); resolve(); };
    video.addEventListener("seeked", done);
    video.currentTime = Math.min(Math.max(0, t), Math.max(0, (video.duration || t) - 0.01));
    setTimeout(done, 5000);
  });
}

/** Render segments [{start, end, text, words?}] into `box`; highlight the current word while `player` plays. */
export function renderTranscript(box, segments, player) {
  box.replaceChildren();
  const spans = [];
  for (const seg of segments) {
    const p = el("p", { class: "segment" });
    if (seg.start !== undefined && seg.start !== null) {
      p.append(el("button", { type: "button", class: "seek", "aria-label": `Play from ${fmtTime(seg.start)}`,
                              onclick: () => { player.currentTime = seg.start; player.play(); } }, fmtTime(seg.start)));
    }
    const words = seg.words && seg.words.length ? seg.words : [{ word: seg.text, start: seg.start, end: seg.end }];
    for (const w of words) {
      const span = el("span", { class: "word", "data-start": w.start, "data-end": w.end }, w.word);
      span.addEventListener("click", () => { if (w.start !== undefined) player.currentTime = w.start; });
      spans.push([w.start ?? -1, w.end ?? -1, span]);
      p.append(span, " ");
    }
    box.append(p);
  }
  let current = null;
  const update = () => {
    const t = player.currentTime;
    const hit = spans.find(([a, b]) => t >= a && t < b);
    const span = hit ? hit[2] : null;
    if (span === current) return;
    if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
    if (span) { span.classList.add("current"); span.setAttribute("aria-current", "true"); }
    current = span;
  };
  player.addEventListener("timeupdate", update);
  player.addEventListener("seeked", update);
  const tick = () => { update(); if (!player.paused) requestAnimationFrame(tick); };
  player.addEventListener("play", () => requestAnimationFrame(tick));
}
