"""Words from findings: a fluent description, and answers to simple questions.

No captioning model exists offline here, so the description is composed from what the detectors
really found (objects, people, faces and expressions, poses, text, colours, light). The prompt
answerer handles the questions those findings can answer — is there X, how many X, what does the
text say, what colours, how many people, are they smiling, where is X, is it blurry/dark — and
says plainly when a question is outside what was measured.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

NUMBER_WORDS = (
    "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve",
)
_IRREGULAR = {
    "person": "people", "mouse": "mice", "knife": "knives", "sheep": "sheep", "skis": "skis",
    "scissors": "scissors", "wine glass": "wine glasses", "bus": "buses", "hair drier": "hair driers",
}
_VEHICLES = {"car", "bus", "truck", "motorcycle", "bicycle", "train", "traffic light", "stop sign",
             "fire hydrant", "parking meter"}
_TABLE = {"dining table", "cup", "fork", "knife", "spoon", "bowl", "wine glass", "bottle", "pizza",
          "sandwich", "cake", "donut", "hot dog", "banana", "apple", "orange", "broccoli", "carrot"}
_INDOOR = {"couch", "bed", "tv", "chair", "laptop", "refrigerator", "oven", "microwave", "sink",
           "toilet", "potted plant", "book", "clock", "vase", "keyboard", "mouse", "remote"}
_ANIMALS = {"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"}
_SPORTS = {"sports ball", "tennis racket", "baseball bat", "baseball glove", "skateboard", "surfboard",
           "skis", "snowboard", "frisbee", "kite"}

# words people use for COCO classes
SYNONYMS: dict[str, str] = {
    "people": "person", "persons": "person", "person": "person", "man": "person", "men": "person",
    "woman": "person", "women": "person", "kid": "person", "kids": "person", "child": "person",
    "children": "person", "boy": "person", "boys": "person", "girl": "person", "girls": "person",
    "human": "person", "humans": "person", "pedestrian": "person", "pedestrians": "person",
    "player": "person", "players": "person", "guy": "person", "guys": "person", "adult": "person",
    "adults": "person", "someone": "person", "anyone": "person", "anybody": "person", "individuals": "person",
    "automobile": "car", "automobiles": "car", "cars": "car", "vehicle": "car", "vehicles": "car",
    "motorbike": "motorcycle", "motorbikes": "motorcycle", "bike": "bicycle", "bikes": "bicycle",
    "plane": "airplane", "planes": "airplane", "aeroplane": "airplane", "lorry": "truck",
    "sofa": "couch", "sofas": "couch", "television": "tv", "tvs": "tv", "monitor": "tv",
    "phone": "cell phone", "phones": "cell phone", "mobile phone": "cell phone", "smartphone": "cell phone",
    "table": "dining table", "tables": "dining table", "ball": "sports ball", "balls": "sports ball",
    "puppy": "dog", "puppies": "dog", "kitten": "cat", "kittens": "cat", "necktie": "tie", "neckties": "tie",
    "glass": "wine glass", "glasses": "wine glass", "plant": "potted plant", "plants": "potted plant",
    "fridge": "refrigerator", "bag": "handbag", "bags": "handbag", "purse": "handbag", "coach": "bus",
}
PERSON_WORDS = {w for w, c in SYNONYMS.items() if c == "person"}


def plural(label: str, n: int = 2) -> str:
    if n == 1:
        return label
    if label in _IRREGULAR:
        return _IRREGULAR[label]
    if re.search(r"(s|sh|ch|x|z)$", label):
        return label + "es"
    if re.search(r"[^aeiou]y$", label):
        return label[:-1] + "ies"
    return label + "s"


def article(word: str) -> str:
    return ("an " if word[:1].lower() in "aeio" or word.startswith("umbrella") else "a ") + word


def number(n: int) -> str:
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def counted(label: str, n: int) -> str:
    return article(label) if n == 1 else f"{number(n)} {plural(label, n)}"


def join_words(items: list[str], conj: str = "and") -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


def cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def object_counts(objects: list[dict[str, Any]]) -> Counter:
    return Counter(o["label"] for o in objects)


def _salience(objects: list[dict[str, Any]]) -> list[str]:
    """Labels ordered by summed box area (bigger/more = more important), people kept."""
    area: dict[str, float] = {}
    for o in objects:
        x1, y1, x2, y2 = o["box"]
        area[o["label"]] = area.get(o["label"], 0.0) + max(0.0, x2 - x1) * max(0.0, y2 - y1) * o["score"]
    return sorted(area, key=lambda k: area[k], reverse=True)


def scene_kind(labels: set[str]) -> str | None:
    if labels & _VEHICLES:
        return "street scene"
    if len(labels & _TABLE) >= 2 or "dining table" in labels:
        return "table scene"
    if labels & _SPORTS:
        return "sports scene"
    if len(labels & _INDOOR) >= 2:
        return "indoor scene"
    return None


def _trim(text: str, max_length: int) -> str:
    """At most max_length characters, cut at a sentence end when possible, else a word end."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= max_length:
        return text
    cut = text[:max_length]
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", cut)]
    if ends and ends[-1] >= max_length * 0.4:
        return cut[: ends[-1]].strip()
    if max_length <= 1:
        return cut[:max_length]
    words = cut[: max_length - 1].rsplit(" ", 1)[0].rstrip(",;:") if " " in cut else cut[: max_length - 1]
    return words + "…"


def _people_sentence(people: dict[str, Any] | None, n_people: int) -> str | None:
    """'The person is smiling and standing.' / 'Both are standing and one is smiling.'"""
    if not people or n_people == 0:
        return None
    faces = people.get("faces") or []
    poses = people.get("poses") or []
    clauses: list[tuple[int, str]] = []
    smiling = sum(1 for f in faces if f.get("smiling"))
    if smiling:
        clauses.append((smiling, "smiling"))
    else:
        strong = Counter(
            f["expression"] for f in faces
            if f.get("expression") not in (None, "neutral", "happy")
            and (f.get("expression_scores") or {}).get(f["expression"], 0) >= 0.6
        )
        for expr, k in strong.most_common(1):
            clauses.append((k, f"looking {_EXPR_ADJ.get(expr, expr)}"))
    postures = Counter(p["posture"] for p in poses if p.get("posture") not in (None, "unknown"))
    for posture, k in postures.most_common(2):
        clauses.append((k, posture))
    facing = sum(1 for p in poses if p.get("facing") == "camera")
    if facing:
        clauses.append((min(facing, n_people), "facing the camera"))
    if not clauses:
        return None
    if n_people == 1:
        return f"The person is {join_words([pred for _, pred in clauses])}."

    def subj(k: int) -> str:
        if k >= n_people:
            return "both" if n_people == 2 else f"all {number(n_people)}"
        return number(k)

    parts = [f"{subj(k)} {'is' if k == 1 else 'are'} {pred}" for k, pred in clauses]
    return cap(join_words(parts)) + "."


_EXPR_ADJ = {"angry": "angry", "disgust": "disgusted", "fear": "afraid", "happy": "happy", "sad": "sad",
             "surprise": "surprised", "neutral": "neutral"}


def describe_findings(f: dict[str, Any], max_length: int = 200, *, kind: str = "image") -> str:
    """One or two sentences (at most max_length characters) from image/frame findings."""
    objects = f.get("objects") or []
    counts = object_counts(objects)
    people = f.get("people") or {}
    n_people = int(people.get("count", counts.get("person", 0)) or 0)
    text_lines = [t["text"] for t in ((f.get("text") or {}).get("lines") or [])]
    colors = [c["name"] for c in ((f.get("colors") or {}).get("dominant") or [])][:2]
    quality = f.get("quality") or {}
    img = f.get("image") or {}
    if img and min(img.get("width", 99), img.get("height", 99)) < 32:
        col = colors[0] if colors else "uniform"
        return _trim(f"A tiny {img['width']}x{img['height']} pixel {kind}, mostly {col}.", max_length)

    order = [lab for lab in _salience(objects) if lab != "person"]
    parts = []
    if n_people:
        parts.append(counted("person", n_people))
    for lab in order[:3]:
        parts.append(counted(lab, counts[lab]))
    if "person" in counts and n_people and order and _salience(objects)[0] != "person":
        parts = parts[1:2] + parts[:1] + parts[2:]  # the biggest thing first
    scene = scene_kind(set(counts))
    noun = kind  # "image" / "frame"
    if parts:
        lead = f"A {scene} with {join_words(parts)}" if scene else f"{cap(article(noun))} of {join_words(parts)}"
        if len(order) > 3:
            lead += ", among other things"
        first = lead + "."
    else:
        light = quality.get("brightness_label")
        head = cap(article(f"{light} {noun}" if light in ("dark", "bright") else noun))
        first = f"{head} with no recognizable objects."
        if colors:
            first = f"{head} in {join_words(colors)} tones with no recognizable objects."
    sentences = [first]
    ps = _people_sentence(people, n_people)
    if ps:
        sentences.append(ps)
    if text_lines:
        shown = " ".join(text_lines)
        if len(shown) > 60:
            shown = shown[:57].rsplit(" ", 1)[0] + "…"
        sentences.append(f'Visible text reads "{shown}".')
    if parts and colors:
        light = quality.get("brightness_label")
        adj = f"{light}, " if light in ("dark", "bright") else ""
        sentences.append(f"The {noun} is {adj}mostly {join_words(colors)}.")
    # keep whole sentences while they fit
    out = sentences[0]
    for s in sentences[1:]:
        if len(out) + 1 + len(s) <= max_length:
            out += " " + s
    return _trim(out, max_length)


# ------------------------------------------------------------------------------------------------
# prompt answering
# ------------------------------------------------------------------------------------------------
def _coco_labels() -> tuple[str, ...]:
    from sensorium.models.yolox import COCO_LABELS

    return COCO_LABELS


def find_subject(question: str) -> tuple[str | None, str | None]:
    """(COCO label, the word used) mentioned in the question, longest match first."""
    q = question.lower()
    labels = sorted(_coco_labels(), key=len, reverse=True)
    for lab in labels:
        for form in (plural(lab), lab):
            if re.search(rf"\b{re.escape(form)}\b", q):
                return lab, form
    for word in sorted(SYNONYMS, key=len, reverse=True):
        if re.search(rf"\b{re.escape(word)}\b", q):
            return SYNONYMS[word], word
    return None, None


def _unknown_thing(question: str) -> str | None:
    """The noun after 'how many' / 'is there a' when it is not something we detect."""
    m = re.search(r"how many\s+([a-z][a-z\- ]*?)(?:\s+(?:are|is|do|can|in|on|there|does|were)\b|\?|$)", question.lower())
    if not m:
        m = re.search(r"(?:is there|are there|do you see|can you see|any)\s+(?:an?\s+|any\s+|some\s+)?([a-z][a-z\-]*)", question.lower())
    return m.group(1).strip() if m else None


def position_words(box: list[float], width: int, height: int) -> str:
    cx = (box[0] + box[2]) / 2 / max(1, width)
    cy = (box[1] + box[3]) / 2 / max(1, height)
    horiz = "left" if cx < 0.36 else "right" if cx > 0.64 else "center"
    vert = "top" if cy < 0.36 else "bottom" if cy > 0.64 else "middle"
    if horiz == "center" and vert == "middle":
        return "in the center"
    if horiz == "center":
        return f"at the {vert}"
    if vert == "middle":
        return f"on the {horiz}"
    return f"at the {vert} {horiz}"


def answer_question(question: str, f: dict[str, Any], *, kind: str = "image") -> dict[str, Any]:
    """Answer from findings. Returns {answer, answerable, basis}."""
    q = question.strip().lower()
    objects = f.get("objects") or []
    counts = object_counts(objects)
    people = f.get("people") or {}
    n_people = int(people.get("count", counts.get("person", 0)) or 0)
    faces = people.get("faces") or []
    text = f.get("text") or {}
    lines = [t["text"] for t in (text.get("lines") or [])]
    colors = (f.get("colors") or {}).get("dominant") or []
    quality = f.get("quality") or {}
    img = f.get("image") or {}
    noun = "image" if kind == "image" else kind

    def res(answer: str, basis: str, ok: bool = True) -> dict[str, Any]:
        return {"answer": answer, "answerable": ok, "basis": basis}

    if not q:
        return res("No question was asked.", "none", False)

    # text
    if re.search(r"\b(text|written|writing|say|says|read|sign|words?|letters?|caption|title|label)\b", q) and \
            not re.search(r"\bhow many (people|persons)\b", q):
        if text.get("lines") is None:
            return res("Text recognition did not run, so I can't tell what is written.", "ocr", False)
        if not lines:
            return res(f"No readable text was found in the {noun}.", "ocr")
        return res("The text reads: " + " / ".join(f'"{t}"' for t in lines), "ocr")

    # smiling / expressions
    if re.search(r"\b(smil\w*|happy|sad|angry|emotion\w*|expression\w*|mood|feel\w*|surprised|afraid|scared|upset|laugh\w*)\b", q):
        if not faces:
            if n_people:
                return res(f"I can see {counted('person', n_people)}, but no face was clear enough to read an expression.", "faces", False)
            return res(f"There are no faces in the {noun}, so there is no expression to read.", "faces")
        smiling = [x for x in faces if x.get("smiling")]
        exprs = Counter(x.get("expression") for x in faces)
        detail = join_words([f"{number(k)} {_EXPR_ADJ.get(e, e)}" for e, k in exprs.most_common()])
        if re.search(r"smil|laugh|happy", q):
            if len(smiling) == len(faces):
                lead = "Yes, " + ("the person is smiling" if len(faces) == 1 else f"all {number(len(faces))} visible faces are smiling")
            elif smiling:
                lead = f"Partly: {number(len(smiling))} of the {number(len(faces))} visible faces {'is' if len(smiling) == 1 else 'are'} smiling"
            else:
                lead = "No, " + ("the face is not smiling" if len(faces) == 1 else f"none of the {number(len(faces))} visible faces is smiling")
            return res(f"{lead} (expressions: {detail}).", "faces")
        return res(f"Facial expressions: {detail}.", "faces")

    # standing / sitting
    if re.search(r"\b(standing|sitting|seated|lying|pose|posture|stand|sit)\b", q):
        if not n_people:
            return res("There are no people in the " + noun + ".", "objects")
        if people.get("poses") is None:
            what = "video frames" if kind == "video" else "this analysis"
            return res(f"Posture was not analyzed for {what} (pose estimation did not run).", "pose", False)
        poses = [p for p in (people.get("poses") or []) if p.get("posture") not in (None, "unknown")]
        if not poses:
            return res("I can't tell: no full-body pose was visible enough to judge posture.", "pose", False)
        c = Counter(p["posture"] for p in poses)
        return res(cap(join_words([f"{number(k)} {'is' if k == 1 else 'are'} {p}" for p, k in c.most_common()])) + f" (of {counted('person', n_people)} detected).", "pose")

    # colours
    if re.search(r"\b(colou?rs?|colou?red)\b", q):
        label, word = find_subject(q)
        if label and label != "person" or (label == "person" and re.search(r"wear|shirt|cloth|dress", q)):
            hits = [o for o in objects if o["label"] == label and o.get("color")]
            if hits:
                cols = [o["color"] for o in hits[:3]]
                return res(f"The {plural(label, len(hits))} {'is' if len(hits) == 1 else 'are'} mostly {join_words(sorted(set(cols), key=cols.index))}.", "colors")
            if label not in counts:
                return res(f"No {label} was detected, so I can't tell its color.", "objects")
        if not colors:
            return res("Colors were not measured.", "colors", False)
        names = [c["name"] for c in colors[:3]]
        return res(f"The main colors are {join_words(names)}.", "colors")

    # counting
    if re.search(r"\bhow many\b|\bnumber of\b|\bcount\b", q):
        label, word = find_subject(q)
        if re.search(r"\bfaces?\b", q):
            return res(f"There {'is' if len(faces) == 1 else 'are'} {counted('face', len(faces))} visible.", "faces")
        if label == "person" or (label is None and re.search(r"\bpeople|persons?\b", q)):
            return res(f"There {'is' if n_people == 1 else 'are'} {counted('person', n_people)}.", "objects")
        if label:
            n = counts.get(label, 0)
            return res(f"There {'is' if n == 1 else 'are'} {counted(label, n)}.", "objects")
        thing = _unknown_thing(q) or "that"
        return res(f"I can't count {thing}: the offline detectors recognize people, faces, text and the 80 "
                   "COCO object classes (vehicles, animals, furniture, food, household objects).", "none", False)

    # where
    if re.search(r"\bwhere\b", q):
        label, word = find_subject(q)
        if label:
            hits = [o for o in objects if o["label"] == label]
            if not hits:
                return res(f"No {label} was detected.", "objects")
            w, h = img.get("width") or 0, img.get("height") or 0
            if not (w and h):
                return res(f"{cap(counted(label, len(hits)))} {'is' if len(hits) == 1 else 'are'} present.", "objects")
            places = [position_words(o["box"], w, h) for o in hits[:4]]
            return res(f"{cap(counted(label, len(hits)))}: " + "; ".join(places) + ".", "objects")

    # presence
    if re.search(r"^(is|are|was|were|does|do|can|any)\b|\bis there\b|\bare there\b|\bdo you see\b|\bcontain|\bshow", q):
        if re.search(r"\bfaces?\b", q):
            return res(("Yes, " + counted("face", len(faces)) + (" is" if len(faces) == 1 else " are") + " visible.") if faces else "No face was detected.", "faces")
        if re.search(r"\bblurr?y|sharp|focus", q):
            return res(f"The {noun} looks {quality.get('sharpness_label', 'unknown')} (sharpness {quality.get('sharpness')}).", "quality")
        if re.search(r"\bdark|bright|light", q) and not find_subject(q)[0]:
            return res(f"The {noun} is {quality.get('brightness_label', 'unknown')} (mean brightness {quality.get('brightness')}).", "quality")
        if re.search(r"\b(nsfw|nud\w*|naked|explicit|porn\w*|safe)\b", q):
            s = f.get("nsfw_score")
            if s is None:
                return res("The NSFW check did not run.", "nsfw", False)
            verdict = "likely not safe for work" if s >= 0.8 else "uncertain" if s >= 0.2 else "safe for work"
            return res(f"The {noun} looks {verdict} (NSFW score {s:.2f}).", "nsfw")
        if re.search(r"\btext|writing|written", q):
            return res(("Yes: " + " / ".join(f'"{t}"' for t in lines)) if lines else "No readable text was found.", "ocr")
        label, word = find_subject(q)
        if label:
            n = n_people if label == "person" else counts.get(label, 0)
            if n:
                return res(f"Yes, there {'is' if n == 1 else 'are'} {counted(label, n)}.", "objects")
            return res(f"No {plural(label) if word and word.endswith('s') else label} {'was' if not (word or '').endswith('s') else 'were'} detected.", "objects")
        thing = _unknown_thing(q)
        if thing:
            return res(f"I can't tell whether there is {article(thing)}: it is not among what the offline detectors "
                       "recognize (people, faces, text and the 80 COCO object classes).", "none", False)

    # describe
    if re.search(r"\b(describe|what is (in|this|shown|happening)|what's (in|this|happening)|what do you see|what can you see|summar\w*|what is going on)\b", q):
        return res(describe_findings(f, 400, kind=kind), "description")

    return res(
        "I can't answer that from what the offline detectors measured (objects, people, faces and "
        "expressions, poses, text, colors and image quality). Configure a vision LLM endpoint "
        "(LLM_BASE_URL, LLM_MODEL) for open-ended questions.", "none", False,
    )
