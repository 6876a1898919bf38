"""Sound library search: by text, by audio example, by video frames (frames-to-sound).

Text -> sound without CLAP
--------------------------
No text-audio joint model (CLAP) is available offline, so text is mapped onto YAMNet's label space:

1. The 521 AudioSet class names, each expanded into a short description ("the sound of Rain on
   surface" plus hand-written hints for common foley classes, `CLASS_HINTS`), are embedded once with
   all-MiniLM-L6-v2. The query — as a whole and split into phrases at commas / "and" / "with" — is
   embedded the same way; each phrase keeps its closest classes (cosine >= 0.35 and within 0.12 of
   its best), softmax-weighted (temperature 0.05). The phrase weights are summed into one weight
   vector `w` over the 521 classes (sum 1): the query's *label profile*.
2. Every indexed clip has a YAMNet profile `p` (per-class 0.5·mean + 0.5·max of frame scores). The
   raw acoustic score is `w · p` (the expected YAMNet score of the classes the text asked for),
   found with a dot-product vector search over the `profile` column. YAMNet's sigmoid scores are
   small even for clearly present classes (white noise scores ~0.25), so the score is calibrated
   as `a = sqrt(w · p)`: 0.01 -> 0.1, 0.09 -> 0.3, 0.25 -> 0.5, 1 -> 1.
3. Text evidence `m` = max(lexical overlap of the query's content words with the clip's filename,
   folder, caption and labels; rescaled MiniLM cosine (0.25 -> 0, 0.75 -> 1) between the query and
   the clip's caption + labels, embedded at indexing time in the `text` vector and also searched
   as candidates).
4. similarity = 1 - (1 - a)·(1 - λ·m), a noisy-OR: text evidence raises a clip, its absence never
   lowers it. λ = 0.6 for clips with a caption or labels, 0.35 when only the filename and folder
   can match. distance = 1 - similarity; `similarity_threshold` filters.

Known weaknesses: the mapping only knows what AudioSet's ontology names (a query for a very specific
sound — "creaky wooden door in a castle" — lands on generic classes like "Door" / "Creak");
negations ("no music") are not understood; YAMNet's profile of a layered clip is dominated by its
loudest source; a long ambience is summarized by one pooled profile; MiniLM similarity between very
short label names is noisy (hence the hints and the thresholds).

Audio example -> sound
----------------------
The example is analysed like an indexed clip. similarity = 0.5·cos(aiSFX) + 0.25·cos(YAMNet
embedding) + 0.25·cos(YAMNet profile) (0.5/0.5 of the YAMNet terms for clips indexed without aiSFX).
Candidates come from the three vector searches.

Frames / video -> sound
-----------------------
Visual findings (`sensorium.vision.image`: YOLOX objects, people, colours, brightness) of each
frame are merged; motion between frames (mean absolute difference of small grayscale frames, and
displacement of the largest box of each label) adds movement cues. Findings map to sound phrases
(`OBJECT_SOUNDS`: bus/car/truck -> traffic, engine; person -> people talking, footsteps; dog ->
barking; ...), ordered by salience (area x count x confidence), and become a sentence
(`audio_description`, e.g. "Sounds of traffic, a bus engine and people talking") which is searched as
text with the phrase weights. With an OpenAI-compatible vision endpoint configured (LLM_BASE_URL,
LLM_MODEL) the endpoint writes the description from up to three frames and the findings instead
(`sensorium.models.llm.VisionLLM`); if it fails, the findings' description stays and `notes` says why.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.sound.library import features_from_wave, require_collection
from sensorium.store.vectors import open_vector_store

log = logging.getLogger(__name__)

MAX_FRAMES = 20
DEFAULT_TOP_K = 10
DEFAULT_THRESHOLD = 0.3
MIN_CLASS_SIM = 0.35
CLASS_SIM_WINDOW = 0.12
CLASS_TEMPERATURE = 0.05
MAX_CLASSES_PER_PHRASE = 6
#: classes that say little about *what* sounds; never chosen from text unless named exactly
GENERIC = {"Sound effect", "Inside, small room", "Inside, large room or hall", "Inside, public space",
           "Outside, urban or manmade", "Outside, rural or natural", "Environmental noise",
           "Noise", "Static", "Mains hum", "Silence", "Echo", "Reverberation", "Cacophony"}

#: extra words for common classes (AudioSet display names are terse)
CLASS_HINTS: dict[str, str] = {
    "Speech": "people talking, a voice speaking, spoken words, conversation, dialogue, narration",
    "Conversation": "people talking together, chatter, dialogue",
    "Narration, monologue": "one voice speaking, a narrator, voice-over",
    "Babbling": "crowd murmur, background chatter",
    "Chatter": "people chatting, crowd talking, murmur",
    "Crowd": "a crowd of people, many voices, busy place",
    "Hubbub, speech noise, speech babble": "crowd chatter, busy restaurant, many people talking",
    "Walk, footsteps": "footsteps, people walking, steps on the ground",
    "Run": "running footsteps",
    "Rain": "rain falling, rainfall, downpour, drizzle, storm",
    "Raindrop": "drops of rain, dripping",
    "Rain on surface": "rain on a roof, rain on a window, rain on a tin roof",
    "Thunderstorm": "storm with thunder and rain",
    "Thunder": "thunder rumble, storm",
    "Wind": "wind blowing, gusts, windy weather",
    "Wind noise (microphone)": "wind buffeting a microphone",
    "Water": "water, liquid, splashing",
    "Stream": "a brook, creek, running water",
    "Ocean": "sea, ocean surf, beach",
    "Waves, surf": "ocean waves breaking on a beach",
    "Traffic noise, roadway noise": "traffic, city street, cars passing, road noise, vehicles",
    "Vehicle": "a vehicle, car, bus, truck driving",
    "Car": "a car driving, car passing by",
    "Car passing by": "a car driving past, passing vehicle",
    "Bus": "a city bus driving, bus engine",
    "Truck": "a truck or lorry driving, truck engine",
    "Motor vehicle (road)": "cars, buses and trucks on a road",
    "Engine": "motor, engine running, engine noise",
    "Idling": "engine idling, vehicle waiting with engine on",
    "Vehicle horn, car horn, honking": "car horn, honking, beep of a car",
    "Motorcycle": "motorbike engine",
    "Train": "train passing, railway",
    "Aircraft": "airplane, plane flying overhead, jet",
    "Siren": "police siren, ambulance, emergency vehicle",
    "Dog": "a dog, puppy",
    "Bark": "a dog barking, woof",
    "Cat": "a cat, kitten",
    "Meow": "a cat meowing",
    "Bird": "birds, birdsong",
    "Bird vocalization, bird call, bird song": "birds chirping, birdsong, tweeting",
    "Chirp, tweet": "birds chirping",
    "Crow": "a crow cawing",
    "Insect": "insects buzzing, crickets",
    "Cricket": "crickets at night",
    "Horse": "a horse, hooves, neighing",
    "Clip-clop": "horse hooves on the street",
    "Door": "a door opening or closing",
    "Slam": "a door slamming",
    "Knock": "knocking on a door",
    "Typing": "typing on a keyboard",
    "Computer keyboard": "typing on a computer keyboard, keys clicking",
    "Tick": "a ticking sound, clicks, clock ticking",
    "Tick-tock": "a clock ticking",
    "Clock": "a clock ticking",
    "Click": "a click, clicking sound",
    "Telephone": "phone ringing",
    "Ringtone": "a phone ringtone",
    "Dishes, pots, and pans": "kitchen sounds, plates and cutlery clinking",
    "Cutlery, silverware": "forks and knives clinking on plates",
    "Applause": "clapping, audience applause",
    "Cheering": "crowd cheering",
    "Laughter": "people laughing",
    "Music": "music, a song, melody",
    "Sine wave": "a pure tone, sine tone, test tone, beep",
    "Beep, bleep": "a beep, electronic tone",
    "White noise": "static hiss, white noise",
    "Pink noise": "pink noise, hiss",
    "Fire": "a fire burning, crackling flames",
    "Crackle": "crackling fire",
    "Explosion": "a blast, explosion, boom",
    "Gunshot, gunfire": "a gunshot, gun firing",
    "Glass": "glass clinking or breaking",
    "Shatter": "glass breaking, shattering",
    "Keys jangling": "a bunch of keys jingling",
    "Writing": "pen writing on paper",
    "Television": "a TV playing in the room",
    "Air conditioning": "air conditioner hum, HVAC",
    "Mechanical fan": "a fan whirring",
    "Microwave oven": "a microwave oven humming and beeping",
    "Toilet flush": "a toilet flushing",
    "Water tap, faucet": "water running from a tap, sink",
    "Hair dryer": "a hair dryer blowing",
    "Boat, Water vehicle": "a boat on the water, motorboat",
    "Skateboard": "a skateboard rolling",
    "Bicycle": "a bicycle, bike",
    "Bicycle bell": "a bike bell ringing",
}

#: COCO label -> sound phrases (most characteristic first)
OBJECT_SOUNDS: dict[str, list[str]] = {
    "person": ["people talking", "footsteps"],
    "bicycle": ["bicycle", "bicycle bell"],
    "car": ["traffic", "car engine", "car passing by"],
    "motorcycle": ["motorcycle engine", "traffic"],
    "airplane": ["aircraft engine", "airplane flying overhead"],
    "bus": ["traffic", "bus engine", "vehicle idling"],
    "train": ["train passing", "railway"],
    "truck": ["traffic", "truck engine"],
    "boat": ["boat engine", "water waves"],
    "traffic light": ["traffic", "car horn"],
    "fire hydrant": ["city street traffic"],
    "stop sign": ["traffic", "car passing by"],
    "parking meter": ["city street traffic"],
    "bench": ["outdoor ambience", "birds chirping"],
    "bird": ["birds chirping"],
    "cat": ["cat meowing"],
    "dog": ["dog barking"],
    "horse": ["horse hooves clip-clop", "horse neighing"],
    "sheep": ["sheep bleating"],
    "cow": ["cow mooing"],
    "elephant": ["elephant trumpeting"],
    "bear": ["animal growling"],
    "zebra": ["horse hooves", "wild animals"],
    "giraffe": ["wild animals", "wind"],
    "umbrella": ["rain"],
    "frisbee": ["people shouting outdoors"],
    "skis": ["wind", "skiing on snow"],
    "snowboard": ["wind", "snow"],
    "sports ball": ["ball bouncing", "crowd cheering"],
    "kite": ["wind"],
    "baseball bat": ["bat hitting a ball", "crowd cheering"],
    "baseball glove": ["crowd cheering"],
    "skateboard": ["skateboard rolling"],
    "surfboard": ["ocean waves"],
    "tennis racket": ["tennis ball hit"],
    "bottle": ["glass bottles clinking"],
    "wine glass": ["glasses clinking", "restaurant chatter"],
    "cup": ["dishes and cutlery clinking"],
    "fork": ["cutlery clinking"],
    "knife": ["cutlery clinking", "chopping"],
    "spoon": ["cutlery clinking"],
    "bowl": ["dishes clinking"],
    "dining table": ["restaurant chatter", "dishes and cutlery clinking"],
    "chair": ["indoor room tone"],
    "couch": ["indoor room tone"],
    "bed": ["quiet indoor room"],
    "toilet": ["toilet flush"],
    "tv": ["television"],
    "laptop": ["typing on a keyboard"],
    "mouse": ["mouse clicks"],
    "remote": ["television"],
    "keyboard": ["typing on a keyboard"],
    "cell phone": ["phone ringing"],
    "microwave": ["microwave oven"],
    "oven": ["kitchen sounds"],
    "toaster": ["kitchen sounds"],
    "sink": ["water tap running"],
    "refrigerator": ["refrigerator hum"],
    "book": ["pages turning"],
    "clock": ["clock ticking"],
    "vase": ["quiet indoor room"],
    "scissors": ["scissors cutting"],
    "teddy bear": ["child laughing"],
    "hair drier": ["hair dryer"],
    "toothbrush": ["brushing teeth", "water tap running"],
}
VEHICLES = {"car", "bus", "truck", "motorcycle", "bicycle", "train", "airplane", "boat"}


# --- label space -----------------------------------------------------------------------------------
@dataclass
class LabelSpace:
    names: list[str]
    matrix: np.ndarray  # [521, 384] unit rows
    allowed: np.ndarray  # bool [521]: may be chosen from free text


_SPACES: dict[tuple[int, int], LabelSpace] = {}
_SPACE_LOCK = threading.Lock()


def class_text(name: str) -> str:
    hint = CLASS_HINTS.get(name)
    return f"the sound of {name.lower()}" + (f": {hint}" if hint else "")


def label_space(minilm: Any, yamnet: Any) -> LabelSpace:
    key = (id(minilm), id(yamnet))
    with _SPACE_LOCK:
        space = _SPACES.get(key)
        if space is None:
            names = list(yamnet.class_names)
            matrix = minilm.encode([class_text(n) for n in names])
            allowed = np.array([n not in GENERIC for n in names])
            space = _SPACES[key] = LabelSpace(names, matrix, allowed)
            if len(_SPACES) > 4:  # models were reloaded: forget old spaces
                for k in list(_SPACES)[:-4]:
                    _SPACES.pop(k, None)
        return space


_SPLIT = re.compile(r"\s*(?:,|;|\.|\band\b|\bwith\b|\bplus\b|&)\s*", re.I)
STOP = {"a", "an", "the", "of", "on", "in", "at", "to", "and", "with", "sound", "sounds", "some", "is",
        "are", "for", "from", "by", "like", "or", "its", "it", "this", "that", "into", "onto", "very",
        "noise", "audio", "clip", "recording"}


def phrases_of(text: str) -> list[str]:
    parts = [p.strip() for p in _SPLIT.split(text) if p and len(p.strip()) > 1]
    out = [text.strip()]
    if len(parts) > 1:
        out += parts
    return list(dict.fromkeys(p for p in out if p))


def label_weights(
    phrases: Sequence[tuple[str, float]], space: LabelSpace, minilm: Any, *, also: str | None = None,
) -> tuple[np.ndarray, list[dict[str, Any]], np.ndarray | None]:
    """Weight vector over the classes (sum 1) for weighted phrases, the matched classes, and the
    embedding of `also` (computed in the same batch)."""
    texts = [p for p, _ in phrases]
    all_emb = minilm.encode(texts + ([also] if also is not None else []))
    emb = all_emb[: len(texts)]
    extra = all_emb[len(texts)] if also is not None else None
    sims = emb @ space.matrix.T  # [P, 521]
    w = np.zeros(len(space.names), dtype=np.float64)
    for i, (phrase, pw) in enumerate(phrases):
        s = sims[i].copy()
        exact = [j for j, n in enumerate(space.names) if n.lower() == phrase.lower()]
        s[~space.allowed] = -1.0
        for j in exact:
            s[j] = max(s[j], sims[i, j], 0.9)
        best = float(s.max())
        if best < MIN_CLASS_SIM:
            continue
        keep = np.flatnonzero(s >= max(MIN_CLASS_SIM, best - CLASS_SIM_WINDOW))
        keep = keep[np.argsort(-s[keep])][:MAX_CLASSES_PER_PHRASE]
        soft = np.exp((s[keep] - best) / CLASS_TEMPERATURE)
        w[keep] += pw * soft / soft.sum()
    total = w.sum()
    if total <= 0:
        return w.astype(np.float32), [], extra
    w /= total
    order = np.argsort(-w)
    matched = [{"label": space.names[j], "weight": round(float(w[j]), 4)}
               for j in order if w[j] >= 0.01][:12]
    return w.astype(np.float32), matched, extra


# --- lexical match --------------------------------------------------------------------------------------
_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    for suf in ("ing", "ies", "es", "s", "ed"):
        if len(word) > len(suf) + 2 and word.endswith(suf):
            return word[: -len(suf)] + ("y" if suf == "ies" else "")
    return word


def words_of(text: str) -> set[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text or "").lower()
    return {_stem(w) for w in _WORD.findall(text) if w not in STOP and not w.isdigit()}


def clip_words(row: dict[str, Any]) -> set[str]:
    stem = str(row.get("fname") or "").rsplit(".", 1)[0]
    labels = row.get("labels") or []
    return words_of(" ".join([stem, str(row.get("split") or ""), str(row.get("caption") or ""),
                              " ".join(map(str, labels))]))


_WORD_INDEX: dict[tuple[int, str], tuple[Any, list[tuple[str, set[str]]]]] = {}
_WORD_INDEX_LOCK = threading.Lock()


def clip_word_index(store: Any, table: str) -> list[tuple[str, set[str]]]:
    """(id, words of name/folder/caption/labels) of every clip, cached until the collection changes."""
    stamp = (store.get_info(table).get("revision"), store.count(table))  # new revision per index run
    key = (id(store), table)
    with _WORD_INDEX_LOCK:
        hit = _WORD_INDEX.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    light = store.rows(table, ["id", "fname", "split", "caption", "labels"])
    index = [(r["id"], clip_words(r)) for r in light]
    with _WORD_INDEX_LOCK:
        _WORD_INDEX[key] = (stamp, index)
    return index


def lexical_score(query_words: set[str], row: dict[str, Any]) -> tuple[float, list[str]]:
    if not query_words:
        return 0.0, []
    hits = sorted(query_words & clip_words(row))
    return len(hits) / len(query_words), hits


# --- results --------------------------------------------------------------------------------------------
def audio_url(collection: str, clip: str) -> str:
    return f"/api/library/sounds/{collection}/{clip}/audio"


def result_item(collection: str, row: dict[str, Any], similarity: float, matched: list[dict[str, Any]],
                reason: str, components: dict[str, float]) -> dict[str, Any]:
    sim = float(np.clip(similarity, -1.0, 1.0))
    return {
        "id": row["id"],
        "fname": row.get("fname"),
        "path": row.get("rel_path"),
        "similarity": round(sim, 4),
        "distance": round(1.0 - sim, 4),
        "split": row.get("split") or "",
        "metadata": {"duration": row.get("duration"), "orig_sr": row.get("orig_sr"),
                     "channels": row.get("channels"), "format": row.get("format")},
        "caption": row.get("caption") or None,
        "labels": row.get("labels") or [],
        "top_labels": row.get("top_labels") or [],
        "matched_labels": matched,
        "reason": reason,
        "scores": {k: round(float(v), 4) for k, v in components.items()},
        "audio_url": audio_url(collection, row["id"]),
    }


def _validate(top_k: int, threshold: float) -> None:
    if not 1 <= int(top_k) <= 100:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "top_k must be between 1 and 100.",
                             details={"param": "top_k"})
    if not -1.0 <= float(threshold) <= 1.0:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "similarity_threshold must be between -1 and 1.",
                             details={"param": "similarity_threshold"})


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


# --- text search ----------------------------------------------------------------------------------------
def search_text(
    query: str,
    *,
    collection: str,
    settings: Any,
    registry: Any,
    top_k: int = DEFAULT_TOP_K,
    similarity_threshold: float = DEFAULT_THRESHOLD,
    phrases: Sequence[tuple[str, float]] | None = None,
) -> dict[str, Any]:
    """Clips matching a text (see module docstring for the method)."""
    query = (query or "").strip()
    if not query:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "The query text is empty.", details={"param": "query"})
    if len(query) > 1000:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "The query is longer than 1000 characters.",
                             details={"param": "query"})
    _validate(top_k, similarity_threshold)
    t = require_collection(settings, collection)
    store = open_vector_store(settings)
    with registry.use("minilm") as minilm, registry.use("yamnet") as yamnet:
        space = label_space(minilm, yamnet)
        weighted = list(phrases) if phrases else [(p, 1.0 if i == 0 else 0.5)
                                                  for i, p in enumerate(phrases_of(query))]
        w, matched_classes, q_text = label_weights(weighted, space, minilm, also=query)
    qwords = words_of(query)
    n_candidates = max(50, top_k * 10)
    cands: dict[str, float] = {}
    if store.count(t) == 0:
        return {"query": query, "mode": "text", "label_profile": matched_classes, "results": [],
                "total_results": 0, "collection": collection}
    if w.sum() > 0:
        for h in store.search(t, w, n_candidates, field="profile", metric="dot", columns=["id"]):
            cands[h.id] = 1.0 - h.distance
    lex: dict[str, tuple[float, list[str]]] = {}
    if qwords:
        for rid, words in clip_word_index(store, t):
            hits = qwords & words
            if hits:
                lex[rid] = (len(hits) / len(qwords), sorted(hits))
    for rid, (score, _) in sorted(lex.items(), key=lambda kv: -kv[1][0])[:n_candidates]:
        cands.setdefault(rid, 0.0)
    if q_text is not None:  # captions/labels close in meaning (vector search on their embeddings)
        for h in store.search(t, q_text, n_candidates, field="text", filter={"has_text": 1}, columns=["id"]):
            cands.setdefault(h.id, 0.0)
    rows = {r["id"]: r for r in store.get(t, list(cands))}
    results = []
    for rid, row in rows.items():
        profile = np.asarray(row["profile"], dtype=np.float32)
        a = float(np.sqrt(max(0.0, float(w @ profile)))) if w.sum() > 0 else 0.0
        lscore, lhits = lex.get(rid, (0.0, []))
        s_sem = 0.0
        if row.get("has_text") and q_text is not None:
            s_sem = float(np.clip((float(np.asarray(row["text"]) @ q_text) - 0.25) / 0.5, 0.0, 1.0))
        m = max(lscore, s_sem)
        has_text = bool(row.get("caption") or row.get("labels"))
        lam = 0.6 if has_text else 0.35
        sim = 1.0 - (1.0 - a) * (1.0 - lam * m)
        matched = [{"label": c["label"], "score": round(float(profile[space.names.index(c["label"])]), 4),
                    "query_weight": c["weight"]} for c in matched_classes
                   if profile[space.names.index(c["label"])] >= 0.05]
        matched.sort(key=lambda x: -x["score"] * x["query_weight"])
        results.append(result_item(collection, row, sim, matched,
                                   _text_reason(matched, lhits, s_sem, row),
                                   {"acoustic": a, "lexical": lscore, "semantic_text": s_sem}))
    results = [r for r in results if r["similarity"] >= similarity_threshold]
    results.sort(key=lambda r: (-r["similarity"], r["fname"] or ""))
    return {"query": query, "mode": "text", "label_profile": matched_classes,
            "results": results[:top_k], "total_results": min(len(results), top_k),
            "collection": collection}


def _text_reason(matched: list[dict[str, Any]], lex_hits: list[str], sem: float, row: dict[str, Any]) -> str:
    bits = []
    if matched:
        bits.append("YAMNet hears " + ", ".join(f"{m['label']} ({m['score']:.2f})" for m in matched[:3]))
    if lex_hits:
        bits.append("words matched in name/caption/labels: " + ", ".join(lex_hits))
    if sem >= 0.3 and row.get("caption"):
        bits.append(f"caption is close in meaning ({sem:.2f})")
    return "; ".join(bits) if bits else "weak match: few of the requested sounds were detected"


# --- audio example search ---------------------------------------------------------------------------------
def search_audio(
    wave44k: np.ndarray,
    *,
    collection: str,
    settings: Any,
    registry: Any,
    top_k: int = DEFAULT_TOP_K,
    similarity_threshold: float = DEFAULT_THRESHOLD,
    exclude_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """Clips that sound like the example (mono float32 at 44.1 kHz)."""
    _validate(top_k, similarity_threshold)
    t = require_collection(settings, collection)
    store = open_vector_store(settings)
    with registry.use("yamnet") as yamnet, registry.use("aisfx") as aisfx:
        q = features_from_wave(wave44k, yamnet, aisfx)
    query_top = [x["label"] for x in q["top_labels"]]
    if store.count(t) == 0:
        return {"mode": "audio", "query_labels": q["top_labels"], "results": [], "total_results": 0,
                "collection": collection}
    n = max(50, top_k * 10)
    cands: set[str] = set()
    for field, flt in (("aisfx", {"has_aisfx": 1}), ("yamnet", None), ("profile", None)):
        cands.update(h.id for h in store.search(t, q[field], n, field=field, filter=flt, columns=["id"]))
    cands -= set(exclude_ids)
    results = []
    for row in store.get(t, list(cands)):
        cy = _cos(q["yamnet"], np.asarray(row["yamnet"]))
        cp = _cos(q["profile"], np.asarray(row["profile"]))
        if row.get("has_aisfx"):
            ca = _cos(q["aisfx"], np.asarray(row["aisfx"]))
            sim = 0.5 * ca + 0.25 * cy + 0.25 * cp
        else:
            ca = None
            sim = 0.5 * cy + 0.5 * cp
        clip_top = {x["label"]: x["score"] for x in row.get("top_labels") or []}
        matched = [{"label": lab, "score": clip_top[lab]} for lab in query_top if lab in clip_top]
        reason = (f"sounds alike: aiSFX {ca:.2f}, YAMNet embedding {cy:.2f}, profile {cp:.2f}"
                  if ca is not None else f"sounds alike: YAMNet embedding {cy:.2f}, profile {cp:.2f}")
        if matched:
            reason += "; shared sound events: " + ", ".join(m["label"] for m in matched[:3])
        comps = {"yamnet_embedding": cy, "profile": cp}
        if ca is not None:
            comps["aisfx"] = ca
        results.append(result_item(collection, row, sim, matched, reason, comps))
    results = [r for r in results if r["similarity"] >= similarity_threshold]
    results.sort(key=lambda r: (-r["similarity"], r["fname"] or ""))
    return {"mode": "audio", "query_labels": q["top_labels"], "results": results[:top_k],
            "total_results": min(len(results), top_k), "collection": collection}


# --- frames -> audio description ----------------------------------------------------------------------------
def frame_findings(frames_bgr: Sequence[np.ndarray], registry: Any) -> list[dict[str, Any]]:
    """Per-frame visual findings from the image pipeline (objects, people, colours, brightness).

    Falls back on YOLOX-nano alone (objects, person count, brightness) if the image pipeline's
    interface is not available.
    """
    try:
        from sensorium.vision import image as image_pipeline

        opts = image_pipeline.ImageOptions(faces=False, face_mesh=False, pose=False, ocr=False, nsfw=False,
                                           colors=True, use_llm=False)
        analyze = image_pipeline.analyze_bgr
    except (ImportError, AttributeError, TypeError):
        log.warning("sensorium.vision.image unavailable: frames-to-sound uses YOLOX alone")
        return [_yolox_findings(bgr, registry) for bgr in frames_bgr]
    return [analyze(bgr, registry, opts) for bgr in frames_bgr]


def _yolox_findings(bgr: np.ndarray, registry: Any) -> dict[str, Any]:
    with registry.use("yolox-nano") as det:
        objects = [d.to_dict() for d in det.detect(bgr)]
    gray = bgr.mean(axis=2) if bgr.ndim == 3 else bgr
    return {"objects": objects, "people": {"count": sum(o["label"] == "person" for o in objects)},
            "quality": {"brightness": round(float(gray.mean() / 255), 3)}}


def _gray_small(bgr: np.ndarray) -> np.ndarray:
    import cv2

    g = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    return cv2.resize(g, (64, 48), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def motion_cues(frames_bgr: Sequence[np.ndarray], findings: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Frame-difference energy and per-label displacement of the largest box between frames."""
    if len(frames_bgr) < 2:
        return {"frame_difference": None, "moving": [], "level": "unknown"}
    smalls = [_gray_small(f) for f in frames_bgr]
    diffs = [float(np.abs(a - b).mean()) for a, b in zip(smalls, smalls[1:])]
    moving: dict[str, float] = {}
    for (fa, fb, ia, ib) in zip(findings, findings[1:], frames_bgr, frames_bgr[1:]):
        width = float(max(ia.shape[1], 1))
        for label in {o["label"] for o in fa.get("objects") or []} & {o["label"] for o in fb.get("objects") or []}:
            ba = max((o for o in fa["objects"] if o["label"] == label), key=_area)
            bb = max((o for o in fb["objects"] if o["label"] == label), key=_area)
            ca = (ba["box"][0] + ba["box"][2]) / 2
            cb = (bb["box"][0] + bb["box"][2]) / 2
            shift = abs(cb - ca) / width
            moving[label] = max(moving.get(label, 0.0), shift)
    mean_diff = float(np.mean(diffs))
    level = "static" if mean_diff < 0.02 else "some movement" if mean_diff < 0.08 else "fast movement"
    return {"frame_difference": round(mean_diff, 4), "level": level,
            "moving": sorted(k for k, v in moving.items() if v >= 0.03)}


def _area(o: dict[str, Any]) -> float:
    x1, y1, x2, y2 = o["box"]
    return max(0.0, x2 - x1) * max(0.0, y2 - y1)


def sound_phrases(findings: Sequence[dict[str, Any]], motion: dict[str, Any],
                  frame_sizes: Sequence[tuple[int, int]]) -> tuple[list[tuple[str, float]], dict[str, Any]]:
    """Weighted sound phrases from merged findings, and the merged visual summary."""
    salience: dict[str, float] = {}
    counts: dict[str, int] = {}
    for f, (w, h) in zip(findings, frame_sizes):
        frame_area = float(max(w * h, 1))
        per_label: dict[str, list[dict[str, Any]]] = {}
        for o in f.get("objects") or []:
            per_label.setdefault(o["label"], []).append(o)
        for label, objs in per_label.items():
            counts[label] = max(counts.get(label, 0), len(objs))
            s = sum(float(o.get("score", 0.5)) * (0.05 + min(1.0, _area(o) / frame_area)) for o in objs)
            salience[label] = max(salience.get(label, 0.0), s)
    phrases: dict[str, float] = {}

    def add(p: str, weight: float) -> None:
        phrases[p] = max(phrases.get(p, 0.0), weight)

    for label, s in sorted(salience.items(), key=lambda kv: -kv[1]):
        for rank, p in enumerate(OBJECT_SOUNDS.get(label, [])):
            add(p, s * (1.0 if rank == 0 else 0.7))
    vehicles = [v for v in VEHICLES if v in salience]
    if vehicles and len(vehicles) + sum(counts.get(v, 0) for v in vehicles) >= 3:
        add("busy city traffic", max(salience[v] for v in vehicles))
    n_people = max(counts.get("person", 0), max((int((f.get("people") or {}).get("count") or 0)
                                                 for f in findings), default=0))
    if n_people >= 5:
        add("crowd chatter", salience.get("person", 0.3))
    moving = set(motion.get("moving") or [])
    if "person" in moving:
        add("footsteps", salience.get("person", 0.3) * 1.1)
    for v in vehicles:
        if v in moving:
            add(f"{v} passing by", salience[v])
    brightness = [float((f.get("quality") or {}).get("brightness", 0.5)) for f in findings if f.get("quality")]
    mean_b = float(np.mean(brightness)) if brightness else None
    if not phrases:  # no sounding objects: fall back on weak scene cues
        if mean_b is not None and mean_b < 0.25:
            add("quiet night ambience, crickets", 0.3)
        else:
            colours = [c.get("name", "") for f in findings for c in ((f.get("colors") or {}).get("dominant") or [])[:2]]
            if any("green" in c for c in colours):
                add("outdoor nature ambience, birds and rustling leaves", 0.3)
            elif any("blue" in c for c in colours):
                add("wind outdoors", 0.3)
            else:
                add("quiet room tone", 0.3)
    total = sum(phrases.values()) or 1.0
    ranked = sorted(((p, w / total) for p, w in phrases.items()), key=lambda kv: -kv[1])[:8]
    summary = {"objects": {k: counts[k] for k in sorted(counts, key=lambda k: -salience[k])},
               "people": n_people, "motion": motion,
               "brightness": round(mean_b, 3) if mean_b is not None else None}
    return ranked, summary


def describe_sounds(phrases: Sequence[tuple[str, float]]) -> str:
    """"Sounds of traffic, a bus engine and people talking." from weighted phrases."""
    if not phrases:
        return "Quiet ambience."
    items = []
    for p, _ in phrases[:6]:
        words = p.split()
        countable = words[-1] in ("engine", "horn", "bell", "flush", "dryer", "oven") or p.endswith("passing by")
        items.append(("a " + p) if countable and not p.startswith(("a ", "the ")) else p)
    body = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return f"Sounds of {body}."


def _llm_description(settings: Any, frames: Sequence[np.ndarray], summary: dict[str, Any]) -> str | None:
    """Audio description written by the OpenAI-compatible vision endpoint (up to 3 frames + findings)."""
    import json

    from sensorium.models.llm import VisionLLM  # owned by the visual capability

    picks = list(frames) if len(frames) <= 3 else [frames[0], frames[len(frames) // 2], frames[-1]]
    text = (f"Detector findings over {len(frames)} frame(s) (JSON): {json.dumps(summary, default=str)}\n\n"
            "You are a sound designer. In one sentence that starts with 'Sounds of', list the sounds one "
            "would hear in this scene (ambience, sources, actions), most prominent first, at most 200 "
            "characters. Name sounds, not pictures.")
    llm = VisionLLM.from_settings(settings)
    out = llm.chat(llm.build_request(picks, text, max_tokens=120)).strip().strip('"')
    return out[:300] or None


def describe_frames(
    frames_bgr: Sequence[np.ndarray], *, settings: Any, registry: Any, use_llm: bool = True,
) -> dict[str, Any]:
    """audio_description + weighted sound phrases + visual summary for 1-20 frames."""
    if not frames_bgr:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "At least one frame is needed.",
                             details={"param": "frames"})
    if len(frames_bgr) > MAX_FRAMES:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"At most {MAX_FRAMES} frames are accepted; got {len(frames_bgr)}.",
                             details={"param": "frames"})
    findings = frame_findings(frames_bgr, registry)
    motion = motion_cues(frames_bgr, findings)
    sizes = [(f.shape[1], f.shape[0]) for f in frames_bgr]
    phrases, summary = sound_phrases(findings, motion, sizes)
    description = describe_sounds(phrases)
    source = "findings"
    notes: list[str] = []
    if use_llm and settings.llm_configured:
        try:
            text = _llm_description(settings, frames_bgr, summary)
            if text:
                description, source = text, "llm"
                llm_phrases = [p for p in phrases_of(re.sub(r"^\s*sounds? of\s+", "", text, flags=re.I))]
                phrases = [(p, 1.0 if i == 0 else 0.6) for i, p in enumerate(llm_phrases)] + \
                    [(p, w * 0.5) for p, w in phrases]
        except SensoriumError as exc:
            notes.append(f"The vision endpoint failed ({exc.message}); the description comes from the findings.")
    return {"audio_description": description, "description_source": source,
            "sound_phrases": [{"phrase": p, "weight": round(w, 4)} for p, w in phrases],
            "visual_summary": summary, "notes": notes, "_phrases": phrases}


def load_frames(paths: Sequence[Path], settings: Any) -> list[np.ndarray]:
    from sensorium.media.image import decode_image

    return [decode_image(p, max_pixels=settings.max_image_pixels, max_side=1280).bgr for p in paths]


def video_frames(path: Path, n: int = 8, check: Callable[[], None] | None = None) -> list[np.ndarray]:
    from sensorium.media.scenes import sample_frames

    return [f.image for f in sample_frames(path, n, "uniform", max_side=1280, check=check)]


def search_frames(
    frames_bgr: Sequence[np.ndarray],
    *,
    collection: str,
    settings: Any,
    registry: Any,
    top_k: int = DEFAULT_TOP_K,
    similarity_threshold: float = DEFAULT_THRESHOLD,
    use_llm: bool = True,
) -> dict[str, Any]:
    _validate(top_k, similarity_threshold)
    require_collection(settings, collection)  # fail before the (slower) visual analysis
    desc = describe_frames(frames_bgr, settings=settings, registry=registry, use_llm=use_llm)
    phrases = desc.pop("_phrases")
    res = search_text(desc["audio_description"], collection=collection, settings=settings,
                      registry=registry, top_k=top_k, similarity_threshold=similarity_threshold,
                      phrases=phrases)
    res.update(desc)
    res["mode"] = "frames"
    res["num_frames"] = len(frames_bgr)
    return res
