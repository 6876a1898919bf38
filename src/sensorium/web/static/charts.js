// SVG pictures drawn from API answers: the emotion timeline, footstep timelines, sound events.
const NS = "http://www.w3.org/2000/svg";

export const EMOTION_COLORS = {
  anger: "#c62828", disgust: "#6a8e23", fear: "#6a1b9a", joy: "#e6a100",
  neutral: "#616161", sadness: "#1565c0", surprise: "#00838f",
};

function s(tag, attrs = {}, text = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function frame(width, height, title, desc) {
  const root = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart",
                          preserveAspectRatio: "xMidYMid meet" });
  const id = Math.random().toString(36).slice(2, 8);
  root.setAttribute("aria-labelledby", `t${id} d${id}`);
  root.append(s("title", { id: `t${id}` }, title), s("desc", { id: `d${id}` }, desc));
  return root;
}

function xAxis(root, x0, x1, y, tMax, unit) {
  root.append(s("line", { x1: x0, x2: x1, y1: y, y2: y, class: "axis" }));
  // seconds: 5 even ticks; sentence indices (0-based in the API): one tick per sentence, labelled from 1
  const ticks = unit === "s" ? 5 : Math.round(tMax);
  if (ticks === 0) {
    root.append(s("text", { x: x0, y: y + 16, "text-anchor": "start", class: "tick" }, "sentence 1"));
    return;
  }
  const step = Math.max(1, Math.ceil(ticks / 12));
  for (let i = 0; i <= ticks; i += unit === "s" ? 1 : step) {
    const t = (tMax * i) / ticks;
    const x = x0 + ((x1 - x0) * i) / ticks;
    root.append(s("line", { x1: x, x2: x, y1: y, y2: y + 4, class: "axis" }));
    root.append(s("text", { x, y: y + 16, "text-anchor": "middle", class: "tick" },
                  unit === "s" ? `${t.toFixed(1)} s` : `sentence ${Math.round(t) + 1}`));
  }
}

/** Lines of the 7 emotion scores from `timeline` [{time, scores}]. For text, time is the sentence index. */
export function emotionChart(timeline, { textInput = false } = {}) {
  const W = 720, H = 300, L = 40, R = 12, T = 12, B = 56;
  const tMax = Math.max(1e-6, ...timeline.map((p) => p.time));
  const xs = (t) => L + ((W - L - R) * t) / tMax;
  const ys = (v) => T + (H - T - B) * (1 - v);
  const root = frame(W, H, "Emotion timeline",
    `${timeline.length} points; fused probabilities of 7 emotions, 0 to 1, over ${textInput ? "sentences" : "seconds"}.`);
  for (const v of [0, 0.5, 1]) {
    root.append(s("line", { x1: L, x2: W - R, y1: ys(v), y2: ys(v), class: "grid" }));
    root.append(s("text", { x: L - 6, y: ys(v) + 4, "text-anchor": "end", class: "tick" }, v.toFixed(1)));
  }
  xAxis(root, L, W - R, H - B, tMax, textInput ? "n" : "s");
  const names = Object.keys(EMOTION_COLORS);
  names.forEach((name, i) => {
    const pts = timeline.map((p) => `${xs(p.time).toFixed(1)},${ys(p.scores[name] || 0).toFixed(1)}`);
    const g = s("g", { class: "series", "data-emotion": name });
    if (timeline.length === 1) {
      const [x, y] = pts[0].split(",");
      g.append(s("circle", { cx: x, cy: y, r: 4, fill: EMOTION_COLORS[name] }));
    } else {
      g.append(s("polyline", { points: pts.join(" "), fill: "none", stroke: EMOTION_COLORS[name], "stroke-width": 2 }));
    }
    root.append(g);
    const lx = L + (i % 4) * 160, ly = H - 24 + Math.floor(i / 4) * 14;
    root.append(s("rect", { x: lx, y: ly - 8, width: 10, height: 10, fill: EMOTION_COLORS[name] }));
    root.append(s("text", { x: lx + 14, y: ly + 1, class: "legend" }, name));
  });
  return root;
}

/** One row per walker; heel strikes as ticks (left foot above the line, right below). */
export function stepTimeline(events, people, duration) {
  const ids = (people && people.length ? people.map((p) => p.person_id)
    : [...new Set(events.map((e) => e.person_id))]).sort((a, b) => a - b);
  const W = 720, L = 80, R = 12, rowH = 46, T = 8;
  const H = T + rowH * Math.max(1, ids.length) + 28;
  const tMax = Math.max(duration || 0, ...events.map((e) => e.time_s), 1e-6);
  const xs = (t) => L + ((W - L - R) * t) / tMax;
  const strikes = events.filter((e) => e.event === "heel_strike");
  const root = frame(W, H, "Footstep timeline",
    `${strikes.length} heel strikes of ${ids.length} walker(s) over ${tMax.toFixed(1)} s; left foot above, right below.`);
  ids.forEach((id, row) => {
    const y = T + row * rowH + rowH / 2;
    root.append(s("text", { x: 4, y: y + 4, class: "legend" }, `walker ${id}`));
    root.append(s("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
    for (const e of events.filter((ev) => ev.person_id === id)) {
      const x = xs(e.time_s);
      const up = e.foot === "left";
      if (e.event === "heel_strike") {
        root.append(s("line", { x1: x, x2: x, y1: y, y2: up ? y - 16 : y + 16, class: `step ${e.foot}`,
                                "data-time": e.time_s.toFixed(3) }));
        root.append(s("text", { x, y: up ? y - 18 : y + 26, "text-anchor": "middle", class: "tick" }, up ? "L" : "R"));
      } else {
        root.append(s("circle", { cx: x, cy: up ? y - 6 : y + 6, r: 2.5, class: `toe ${e.foot}` }));
      }
    }
  });
  xAxis(root, L, W - R, H - 24, tMax, "s");
  return root;
}

/** Sound events [{label, start, end, score}] as bars, one row per label. */
export function soundEventsChart(events, duration) {
  const labels = [...new Set(events.map((e) => e.label))];
  const W = 720, L = 150, R = 12, rowH = 22, T = 6;
  const H = T + rowH * Math.max(1, labels.length) + 28;
  const tMax = Math.max(duration || 0, ...events.map((e) => e.end), 1e-6);
  const xs = (t) => L + ((W - L - R) * t) / tMax;
  const root = frame(W, H, "Sound events", `${events.length} sound events (YAMNet) of ${labels.length} classes.`);
  labels.forEach((label, row) => {
    const y = T + row * rowH;
    root.append(s("text", { x: L - 6, y: y + 14, "text-anchor": "end", class: "legend" }, label));
    for (const e of events.filter((ev) => ev.label === label)) {
      const bar = s("rect", { x: xs(e.start), y: y + 3, width: Math.max(2, xs(e.end) - xs(e.start)), height: rowH - 6,
                              class: "bar", "fill-opacity": (0.35 + 0.65 * e.score).toFixed(2) });
      bar.append(s("title", {}, `${label}: ${e.start.toFixed(2)}-${e.end.toFixed(2)} s, score ${e.score.toFixed(2)}`));
      root.append(bar);
    }
  });
  xAxis(root, L, W - R, H - 24, tMax, "s");
  return root;
}
