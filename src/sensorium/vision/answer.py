"""Answers to simple questions from the findings, without a language model.

Handles what the detectors can answer — is there X, how many X, what does the text say, what
colours, how many people, are they smiling, standing or sitting, where is X, is it blurry/dark/NSFW,
describe — and for videos what is said or heard and when things happen; says plainly when a
question is outside what was measured (`answerable: false`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sensorium.models.yolox import COCO_LABELS
from sensorium.vision.describe import (
    EXPRESSION_ADJECTIVES,
    article,
    cap,
    counted,
    describe_findings,
    join_words,
    number,
    object_counts,
    people_count,
    plural,
    text_lines,
)
from sensorium.vision.schemas import (
    Answer,
    AudioTrack,
    ColorShare,
    Findings,
    ImageInfo,
    Quality,
    VideoSummary,
    given,
)

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
_HOW_MANY_THING = re.compile(r"how many\s+([a-z][a-z\- ]*?)(?:\s+(?:are|is|do|can|in|on|there|does|were)\b|\?|$)")
_IS_THERE_THING = re.compile(
    r"(?:is there|are there|do you see|can you see|any)\s+(?:an?\s+|any\s+|some\s+)?([a-z][a-z\-]*)")
_EXPRESSION_WORDS = re.compile(r"\b(smil\w*|happy|sad|angry|emotion\w*|expression\w*|mood|feel\w*|surprised|afraid"
                               r"|scared|upset|laugh\w*)\b")
_PRESENCE_WORDS = re.compile(r"^(is|are|was|were|does|do|can|any)\b|\bis there\b|\bare there\b|\bdo you see\b"
                             r"|\bcontain|\bshow")
_DESCRIBE_WORDS = re.compile(r"\b(describe|what is (in|this|shown|happening)|what's (in|this|happening)|what do you see"
                             r"|what can you see|summar\w*|what is going on)\b")
_AUDIO_WORDS = re.compile(r"\b(said|say|says|saying|speech|spoken|talk\w*|speak\w*|transcri\w*|words spoken|hear"
                          r"|heard|sound\w*|audio|noise|music)\b")
_VIDEO_DESCRIBE_WORDS = re.compile(r"\b(describe|what happens|what is happening|what's happening|summar\w*"
                                   r"|what is (in|this)|what do you see)\b")
DETECTORS_CANNOT = ("I can't answer that from what the offline detectors measured (objects, people, faces and "
                    "expressions, poses, text, colors and image quality). Configure a vision LLM endpoint "
                    "(LLM_BASE_URL, LLM_MODEL) for open-ended questions.")


def _res(answer: str, basis: str, ok: bool = True) -> Answer:
    return Answer(answer=answer, answerable=ok, basis=basis)


def find_subject(question: str) -> tuple[str | None, str | None]:
    """(COCO label, the word used) mentioned in the question, longest match first."""
    q = question.lower()
    for lab in sorted(COCO_LABELS, key=len, reverse=True):
        for form in (plural(lab), lab):
            if re.search(rf"\b{re.escape(form)}\b", q):
                return lab, form
    for word in sorted(SYNONYMS, key=len, reverse=True):
        if re.search(rf"\b{re.escape(word)}\b", q):
            return SYNONYMS[word], word
    return None, None


def _unknown_thing(question: str) -> str | None:
    """The noun after 'how many' / 'is there a' when it is not something we detect."""
    m = _HOW_MANY_THING.search(question.lower())
    if not m:
        m = _IS_THERE_THING.search(question.lower())
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


@dataclass
class _Facts:
    """The findings as the question topics read them."""

    f: Findings
    q: str
    kind: str
    noun: str
    counts: Counter[str]
    n_people: int
    lines: list[str]
    text_ran: bool
    colors: list[ColorShare]
    quality: Quality | None
    img: ImageInfo | None

    @classmethod
    def of(cls, f: Findings, q: str, kind: str) -> _Facts:
        text, colors = given(f.text), given(f.colors)
        return cls(f=f, q=q, kind=kind, noun="image" if kind == "image" else kind,
                   counts=object_counts(f.objects), n_people=people_count(f), lines=text_lines(f),
                   text_ran=text is not None and text.lines is not None,
                   colors=colors.dominant if colors else [], quality=given(f.quality), img=given(f.image))


# --- topics: each answers when the question is about it, else None --------------------------------------
def _about_text(x: _Facts) -> Answer | None:
    if not re.search(r"\b(text|written|writing|say|says|read|sign|words?|letters?|caption|title|label)\b", x.q) \
            or re.search(r"\bhow many (people|persons)\b", x.q):
        return None
    if not x.text_ran:
        return _res("Text recognition did not run, so I can't tell what is written.", "ocr", False)
    if not x.lines:
        return _res(f"No readable text was found in the {x.noun}.", "ocr")
    return _res("The text reads: " + " / ".join(f'"{t}"' for t in x.lines), "ocr")


def _about_expressions(x: _Facts) -> Answer | None:
    if not _EXPRESSION_WORDS.search(x.q):
        return None
    faces = x.f.people.faces or []
    if not faces:
        if x.n_people:
            return _res(f"I can see {counted('person', x.n_people)}, but no face was clear enough to read an "
                        "expression.", "faces", False)
        return _res(f"There are no faces in the {x.noun}, so there is no expression to read.", "faces")
    smiling = [face for face in faces if given(face.smiling)]
    exprs = Counter(face.expression for face in faces)
    detail = join_words([f"{number(k)} {EXPRESSION_ADJECTIVES.get(e, e) if e else e}"
                         for e, k in exprs.most_common()])
    if not re.search(r"smil|laugh|happy", x.q):
        return _res(f"Facial expressions: {detail}.", "faces")
    n = len(faces)
    if len(smiling) == n:
        lead = "Yes, " + ("the person is smiling" if n == 1 else f"all {number(n)} visible faces are smiling")
    elif smiling:
        lead = (f"Partly: {number(len(smiling))} of the {number(n)} visible faces "
                f"{'is' if len(smiling) == 1 else 'are'} smiling")
    else:
        lead = "No, " + ("the face is not smiling" if n == 1 else f"none of the {number(n)} visible faces is smiling")
    return _res(f"{lead} (expressions: {detail}).", "faces")


def _about_posture(x: _Facts) -> Answer | None:
    if not re.search(r"\b(standing|sitting|seated|lying|pose|posture|stand|sit)\b", x.q):
        return None
    if not x.n_people:
        return _res("There are no people in the " + x.noun + ".", "objects")
    if x.f.people.poses is None:
        what = "video frames" if x.kind == "video" else "this analysis"
        return _res(f"Posture was not analyzed for {what} (pose estimation did not run).", "pose", False)
    poses = [p for p in x.f.people.poses if p.posture not in (None, "unknown")]
    if not poses:
        return _res("I can't tell: no full-body pose was visible enough to judge posture.", "pose", False)
    c = Counter(p.posture for p in poses)
    return _res(cap(join_words([f"{number(k)} {'is' if k == 1 else 'are'} {p}" for p, k in c.most_common()]))
                + f" (of {counted('person', x.n_people)} detected).", "pose")


def _about_colors(x: _Facts) -> Answer | None:
    if not re.search(r"\b(colou?rs?|colou?red)\b", x.q):
        return None
    label, _ = find_subject(x.q)
    if label and label != "person" or (label == "person" and re.search(r"wear|shirt|cloth|dress", x.q)):
        hits = [o for o in x.f.objects if o.label == label and given(o.color)]
        if hits:
            cols = [str(o.color) for o in hits[:3]]
            return _res(f"The {plural(str(label), len(hits))} {'is' if len(hits) == 1 else 'are'} mostly "
                        f"{join_words(sorted(set(cols), key=cols.index))}.", "colors")
        if label not in x.counts:
            return _res(f"No {label} was detected, so I can't tell its color.", "objects")
    if not x.colors:
        return _res("Colors were not measured.", "colors", False)
    return _res(f"The main colors are {join_words([c.name for c in x.colors[:3]])}.", "colors")


def _about_counting(x: _Facts) -> Answer | None:
    if not re.search(r"\bhow many\b|\bnumber of\b|\bcount\b", x.q):
        return None
    label, _ = find_subject(x.q)
    faces = x.f.people.faces or []
    if re.search(r"\bfaces?\b", x.q):
        return _res(f"There {'is' if len(faces) == 1 else 'are'} {counted('face', len(faces))} visible.", "faces")
    if label == "person" or (label is None and re.search(r"\bpeople|persons?\b", x.q)):
        return _res(f"There {'is' if x.n_people == 1 else 'are'} {counted('person', x.n_people)}.", "objects")
    if label:
        n = x.counts.get(label, 0)
        return _res(f"There {'is' if n == 1 else 'are'} {counted(label, n)}.", "objects")
    thing = _unknown_thing(x.q) or "that"
    return _res(f"I can't count {thing}: the offline detectors recognize people, faces, text and the 80 "
                "COCO object classes (vehicles, animals, furniture, food, household objects).", "none", False)


def _about_place(x: _Facts) -> Answer | None:
    if not re.search(r"\bwhere\b", x.q):
        return None
    label, _ = find_subject(x.q)
    if not label:
        return None
    hits = [o for o in x.f.objects if o.label == label]
    if not hits:
        return _res(f"No {label} was detected.", "objects")
    w, h = (x.img.width or 0, x.img.height or 0) if x.img else (0, 0)
    if not (w and h):
        return _res(f"{cap(counted(label, len(hits)))} {'is' if len(hits) == 1 else 'are'} present.", "objects")
    places = [position_words(o.box, w, h) for o in hits[:4]]
    return _res(f"{cap(counted(label, len(hits)))}: " + "; ".join(places) + ".", "objects")


def _about_picture(x: _Facts) -> Answer | None:
    """Presence of faces, blur, light, NSFW and text (the picture as a whole)."""
    q, noun, quality = x.q, x.noun, x.quality
    if re.search(r"\bfaces?\b", q):
        faces = x.f.people.faces or []
        return _res(("Yes, " + counted("face", len(faces)) + (" is" if len(faces) == 1 else " are") + " visible.")
                    if faces else "No face was detected.", "faces")
    if re.search(r"\bblurr?y|sharp|focus", q):
        label, value = (quality.sharpness_label, quality.sharpness) if quality else ("unknown", None)
        return _res(f"The {noun} looks {label} (sharpness {value}).", "quality")
    if re.search(r"\bdark|bright|light", q) and not find_subject(q)[0]:
        label, value = (quality.brightness_label, quality.brightness) if quality else ("unknown", None)
        return _res(f"The {noun} is {label} (mean brightness {value}).", "quality")
    if re.search(r"\b(nsfw|nud\w*|naked|explicit|porn\w*|safe)\b", q):
        s = given(x.f.nsfw_score)
        if s is None:
            return _res("The NSFW check did not run.", "nsfw", False)
        verdict = "likely not safe for work" if s >= 0.8 else "uncertain" if s >= 0.2 else "safe for work"
        return _res(f"The {noun} looks {verdict} (NSFW score {s:.2f}).", "nsfw")
    if re.search(r"\btext|writing|written", q):
        return _res(("Yes: " + " / ".join(f'"{t}"' for t in x.lines)) if x.lines else "No readable text was found.",
                    "ocr")
    return None


def _about_presence(x: _Facts) -> Answer | None:
    if not _PRESENCE_WORDS.search(x.q):
        return None
    picture = _about_picture(x)
    if picture is not None:
        return picture
    label, word = find_subject(x.q)
    if label:
        n = x.n_people if label == "person" else x.counts.get(label, 0)
        if n:
            return _res(f"Yes, there {'is' if n == 1 else 'are'} {counted(label, n)}.", "objects")
        plural_word = bool(word and word.endswith("s"))
        return _res(f"No {plural(label) if plural_word else label} {'were' if plural_word else 'was'} detected.",
                    "objects")
    thing = _unknown_thing(x.q)
    if thing:
        return _res(f"I can't tell whether there is {article(thing)}: it is not among what the offline detectors "
                    "recognize (people, faces, text and the 80 COCO object classes).", "none", False)
    return None


def _about_description(x: _Facts) -> Answer | None:
    if not _DESCRIBE_WORDS.search(x.q):
        return None
    return _res(describe_findings(x.f, 400, kind=x.kind), "description")


TOPICS: tuple[Callable[[_Facts], Answer | None], ...] = (
    _about_text, _about_expressions, _about_posture, _about_colors, _about_counting, _about_place,
    _about_presence, _about_description,
)


def answer_question(question: str, f: Findings, *, kind: str = "image") -> Answer:
    """Answer from findings: the first topic the question is about answers it."""
    q = question.strip().lower()
    if not q:
        return _res("No question was asked.", "none", False)
    facts = _Facts.of(f, q, kind)
    for topic in TOPICS:
        answer = topic(facts)
        if answer is not None:
            return answer
    return _res(DETECTORS_CANNOT, "none", False)


# --- videos ----------------------------------------------------------------------------------------------
def fmt_time(t: float) -> str:
    if t < 60:
        return f"{t:.1f} s"
    m, s = divmod(t, 60)
    return f"{int(m)}:{s:04.1f}"


def _about_audio(q: str, audio: AudioTrack | None) -> Answer:
    if audio is None:
        return _res("The video has no audio track.", "audio")
    if re.search(r"\b(sound\w*|noise|music|hear|heard)\b", q) and not re.search(r"\b(said|say|speech|talk)", q):
        if audio.sound_events is None:
            return _res("Sound events were not analyzed (YAMNet is not available).", "audio", False)
        labels = Counter(e.label for e in audio.sound_events)
        return _res(("Sounds heard: " + join_words(list(labels)[:6]) + ".") if labels
                    else "No distinct sound events were detected.", "audio")
    text = (audio.transcription or "").strip()
    return _res(f'The speech says: "{text}"' if text else "No speech was detected in the audio track.", "audio")


def _about_when(q: str, summary: VideoSummary) -> Answer | None:
    label, _ = find_subject(q)
    if label:
        tracks = [t for t in summary.objects if t.label == label]
        if not tracks:
            return _res(f"No {label} was seen in the sampled frames.", "objects")
        t = tracks[0]
        return _res(f"{cap(article(label))} is seen from {fmt_time(t.first_seen)} to {fmt_time(t.last_seen)} "
                    "(sampled frames).", "objects")
    if re.search(r"scene|cut", q):
        cuts = summary.scene_changes
        if not cuts:
            return _res("No scene change was found." if cuts is not None else
                        "Scene changes are only scanned with frame_sampling=keyframes.", "scenes", cuts is not None)
        return _res("Scene changes at " + ", ".join(fmt_time(c.timestamp) for c in cuts) + ".", "scenes")
    return None


def answer_video(question: str, agg: Findings, summary: VideoSummary, audio: AudioTrack | None,
                 description: str) -> Answer:
    """Answer about a video: its audio, when things happen, an overview, else from the aggregated findings."""
    q = question.lower()
    if _AUDIO_WORDS.search(q) and not re.search(r"\b(text|written|sign)\b", q):
        return _about_audio(q, audio)
    if re.search(r"\bwhen\b", q):
        when = _about_when(q, summary)
        if when is not None:
            return when
    if _VIDEO_DESCRIBE_WORDS.search(q):
        return _res(description or summary.text_summary, "summary")
    return answer_question(question, agg, kind="video")


__all__ = ["SYNONYMS", "answer_question", "answer_video", "find_subject", "fmt_time", "position_words"]
