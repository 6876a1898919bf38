"""Words from findings: counted nouns, lists, and a fluent description of an image or frame.

No captioning model exists offline here, so the description is composed from what the detectors
really found (objects, people, faces and expressions, poses, text, colours, light). Questions are
answered in `answer.py`.
"""

from __future__ import annotations

import re
from collections import Counter

from sensorium.vision.schemas import DetectedObject, Findings, People, given

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
_SPORTS = {"sports ball", "tennis racket", "baseball bat", "baseball glove", "skateboard", "surfboard",
           "skis", "snowboard", "frisbee", "kite"}

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


EXPRESSION_ADJECTIVES = {"angry": "angry", "disgust": "disgusted", "fear": "afraid", "happy": "happy",
                         "sad": "sad", "surprise": "surprised", "neutral": "neutral"}


def object_counts(objects: list[DetectedObject]) -> Counter[str]:
    return Counter(o.label for o in objects)


def _salience(objects: list[DetectedObject]) -> list[str]:
    """Labels ordered by summed box area (bigger/more = more important), people kept."""
    area: dict[str, float] = {}
    for o in objects:
        x1, y1, x2, y2 = o.box
        area[o.label] = area.get(o.label, 0.0) + max(0.0, x2 - x1) * max(0.0, y2 - y1) * o.score
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


def trim(text: str, max_length: int) -> str:
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


# --- reading the findings ---------------------------------------------------------------------------------
def people_count(f: Findings) -> int:
    return int(f.people.count or 0)


def text_lines(f: Findings) -> list[str]:
    """The OCR lines' text ([] when OCR found nothing or did not run)."""
    text = given(f.text)
    return [t.text for t in (text.lines or [])] if text else []


def color_names(f: Findings) -> list[str]:
    colors = given(f.colors)
    return [c.name for c in colors.dominant] if colors else []


def _people_sentence(people: People, n_people: int) -> str | None:
    """'The person is smiling and standing.' / 'Both are standing and one is smiling.'"""
    if n_people == 0:
        return None
    faces = people.faces or []
    poses = people.poses or []
    clauses: list[tuple[int, str]] = []
    smiling = sum(1 for f in faces if given(f.smiling))
    if smiling:
        clauses.append((smiling, "smiling"))
    else:
        strong = Counter(
            f.expression for f in faces
            if f.expression not in (None, "neutral", "happy")
            and (f.expression_scores or {}).get(f.expression or "", 0) >= 0.6
        )
        for expr, k in strong.most_common(1):
            clauses.append((k, f"looking {EXPRESSION_ADJECTIVES.get(expr or '', expr)}"))
    postures = Counter(p.posture for p in poses if p.posture not in (None, "unknown"))
    for posture, k in postures.most_common(2):
        clauses.append((k, posture))
    facing = sum(1 for p in poses if p.facing == "camera")
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


def _first_sentence(f: Findings, kind: str, colors: list[str]) -> tuple[str, bool]:
    """'A street scene with a bus and three people.' and whether anything was named."""
    objects = f.objects
    counts = object_counts(objects)
    n_people = people_count(f)
    quality = given(f.quality)
    order = [lab for lab in _salience(objects) if lab != "person"]
    parts = []
    if n_people:
        parts.append(counted("person", n_people))
    for lab in order[:3]:
        parts.append(counted(lab, counts[lab]))
    if "person" in counts and n_people and order and _salience(objects)[0] != "person":
        parts = parts[1:2] + parts[:1] + parts[2:]  # the biggest thing first
    scene = scene_kind(set(counts))
    if parts:
        lead = f"A {scene} with {join_words(parts)}" if scene else f"{cap(article(kind))} of {join_words(parts)}"
        if len(order) > 3:
            lead += ", among other things"
        return lead + ".", True
    light = quality.brightness_label if quality else None
    head = cap(article(f"{light} {kind}" if light in ("dark", "bright") else kind))
    if colors:
        return f"{head} in {join_words(colors)} tones with no recognizable objects.", False
    return f"{head} with no recognizable objects.", False


def describe_findings(f: Findings, max_length: int = 200, *, kind: str = "image") -> str:
    """One or two sentences (at most max_length characters) from image/frame findings."""
    colors = color_names(f)[:2]
    img = given(f.image)
    if img and min(img.width, img.height) < 32:
        col = colors[0] if colors else "uniform"
        return trim(f"A tiny {img.width}x{img.height} pixel {kind}, mostly {col}.", max_length)
    first, named = _first_sentence(f, kind, colors)
    sentences = [first]
    ps = _people_sentence(f.people, people_count(f))
    if ps:
        sentences.append(ps)
    lines = text_lines(f)
    if lines:
        shown = " ".join(lines)
        if len(shown) > 60:
            shown = shown[:57].rsplit(" ", 1)[0] + "…"
        sentences.append(f'Visible text reads "{shown}".')
    if named and colors:
        quality = given(f.quality)
        light = quality.brightness_label if quality else None
        adj = f"{light}, " if light in ("dark", "bright") else ""
        sentences.append(f"The {kind} is {adj}mostly {join_words(colors)}.")
    # keep whole sentences while they fit
    out = sentences[0]
    for s in sentences[1:]:
        if len(out) + 1 + len(s) <= max_length:
            out += " " + s
    return trim(out, max_length)
