"""Pure functions behind the findings: colour names, posture geometry, wording, prompt parsing."""

from __future__ import annotations

import numpy as np
import pytest

from sensorium.vision import describe as words
from sensorium.vision.answer import answer_question
from sensorium.vision.colors import color_name, dominant_colors, image_quality
from sensorium.vision.people import classify_posture
from sensorium.vision.schemas import Findings


@pytest.mark.parametrize(
    ("rgb", "name"),
    [((250, 250, 250), "white"), ((5, 5, 5), "black"), ((128, 128, 128), "gray"), ((220, 20, 30), "red"),
     ((255, 140, 0), "orange"), ((240, 220, 30), "yellow"), ((30, 160, 40), "green"), ((30, 60, 220), "blue"),
     ((120, 40, 160), "purple"), ((110, 70, 30), "brown"), ((20, 30, 90), "navy")],
)
def test_color_names(rgb: tuple[int, int, int], name: str) -> None:
    assert color_name(rgb) == name


def test_dominant_colors_fractions() -> None:
    img = np.zeros((100, 100, 3), np.uint8)
    img[:, :70] = (0, 0, 220)  # BGR red
    img[:, 70:] = (220, 60, 30)  # BGR blue
    cols = dominant_colors(img)
    assert [c.name for c in cols] == ["red", "blue"]
    assert abs(cols[0].fraction - 0.7) < 0.03


def test_quality_labels() -> None:
    flat = np.full((200, 200, 3), 20, np.uint8)
    q = image_quality(flat)
    assert q.brightness_label == "dark" and q.sharpness_label == "blurry"
    rng = np.random.default_rng(0)
    busy = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
    assert image_quality(busy).sharpness_label == "sharp"


def _skeleton(facing_camera: bool = True, sitting: bool = False) -> np.ndarray:
    """33 BlazePose landmarks (x, y, z, visibility) of an upright figure 400 px tall."""
    lm = np.zeros((33, 4), np.float32)
    lm[:, 3] = 0.99
    s = 1 if facing_camera else -1  # the subject's left shoulder is on the image's right when facing us
    lm[0, :2] = (200, 60)
    lm[11, :2], lm[12, :2] = (200 + 40 * s, 120), (200 - 40 * s, 120)
    lm[23, :2], lm[24, :2] = (200 + 25 * s, 260), (200 - 25 * s, 260)
    if sitting:  # thighs horizontal, shins vertical
        lm[25, :2], lm[26, :2] = (200 + 25 * s + 0, 262), (200 - 25 * s, 262)
        lm[25, 0] += 120
        lm[26, 0] += 120
        lm[27, :2], lm[28, :2] = (lm[25, 0], 390), (lm[26, 0], 390)
    else:
        lm[25, :2], lm[26, :2] = (200 + 25 * s, 360), (200 - 25 * s, 360)
        lm[27, :2], lm[28, :2] = (200 + 25 * s, 455), (200 - 25 * s, 455)
    return lm


def test_posture_geometry() -> None:
    assert classify_posture(_skeleton()).posture == "standing"
    assert classify_posture(_skeleton()).facing == "camera"
    assert classify_posture(_skeleton(facing_camera=False)).facing == "away"
    assert classify_posture(_skeleton(sitting=True)).posture == "sitting"
    lying = _skeleton()[:, [1, 0, 2, 3]]  # swap x and y: the body is horizontal
    assert classify_posture(lying).posture == "lying"
    cut = _skeleton()
    assert classify_posture(cut, size=(400, 300)).posture == "unknown"  # legs below the picture


def test_wording() -> None:
    assert words.counted("person", 1) == "a person" and words.counted("person", 3) == "three people"
    assert words.counted("bus", 2) == "two buses" and words.counted("knife", 2) == "two knives"
    assert words.counted("umbrella", 1) == "an umbrella" and words.counted("wine glass", 13) == "13 wine glasses"
    assert words.join_words(["a", "b", "c"]) == "a, b and c"
    assert words.trim("One sentence here. Another one that is long.", 25) == "One sentence here."
    assert len(words.trim("word " * 50, 30)) <= 30


def test_question_parsing_on_findings() -> None:
    # (a Findings needs each face's box/score/scores, each colour's hex/rgb/fraction and the contrast)
    f = Findings.model_validate({
        "objects": [{"label": "dog", "score": 0.9, "box": [0, 0, 50, 50], "color": "brown"},
                    {"label": "dog", "score": 0.8, "box": [60, 0, 100, 50], "color": "brown"},
                    {"label": "person", "score": 0.9, "box": [0, 0, 10, 10]}],
        "object_counts": {"dog": 2, "person": 1},
        "people": {"count": 1, "faces": [{"box": [2, 1, 8, 5], "score": 0.9, "expression": "happy",
                                          "expression_scores": None, "smiling": True}], "poses": []},
        "text": {"lines": [{"text": "OPEN"}]},
        "colors": {"dominant": [{"name": "green", "hex": "#00a000", "rgb": [0, 160, 0], "fraction": 0.6},
                                {"name": "white", "hex": "#ffffff", "rgb": [255, 255, 255], "fraction": 0.4}]},
        "quality": {"brightness": 0.5, "brightness_label": "normal", "contrast": 0.2, "sharpness": 300,
                    "sharpness_label": "sharp"},
        "image": {"width": 100, "height": 100},
    })
    def ask(q: str) -> str:
        return answer_question(q, f).answer

    assert ask("How many dogs are there?") == "There are two dogs."
    assert ask("Are there any puppies?").startswith("Yes, there are two dogs")
    assert ask("Is there a cat?") == "No cat was detected."
    assert ask("Is the person smiling?").startswith("Yes, the person is smiling")
    assert ask("What color is the dog?") == "The dogs are mostly brown."
    assert ask("What colors are in the picture?") == "The main colors are green and white."
    assert ask("What does the sign say?") == 'The text reads: "OPEN"'
    assert ask("Where is the person?") == "A person: at the top left."
    assert ask("Is it blurry?").startswith("The image looks sharp")
    assert answer_question("Why is the sky blue?", f).answerable is False


@pytest.mark.parametrize("kind", ["webp", "bmp", "cmyk-jpeg", "gray16-png", "rgba-png", "palette-transparent-gif"])
def test_decode_formats_to_bgr(kind: str) -> None:
    """Every supported format/mode decodes to BGR uint8 with the right colour."""
    import io

    from PIL import Image

    from sensorium.media.image import decode_image

    buf = io.BytesIO()
    orange = (255, 140, 0)
    if kind == "webp":
        Image.new("RGB", (40, 30), orange).save(buf, "WEBP", lossless=True)
    elif kind == "bmp":
        Image.new("RGB", (40, 30), orange).save(buf, "BMP")
    elif kind == "cmyk-jpeg":
        Image.new("RGB", (40, 30), orange).convert("CMYK").save(buf, "JPEG", quality=95)
    elif kind == "gray16-png":
        arr = np.tile(np.linspace(0, 65535, 40, dtype=np.uint16), (30, 1))
        Image.fromarray(arr).save(buf, "PNG")
    elif kind == "rgba-png":
        im = Image.new("RGBA", (40, 30), (*orange, 255))
        im.putpixel((0, 0), (0, 0, 0, 0))  # transparent -> white
        im.save(buf, "PNG")
    else:
        im = Image.new("P", (40, 30), 1)
        im.putpalette([0, 0, 0, *orange] + [0] * 762)
        im.putpixel((0, 0), 0)
        im.save(buf, "GIF", transparency=0)
    img = decode_image(buf.getvalue(), max_pixels=10_000_000)
    assert img.bgr.dtype == np.uint8 and img.bgr.shape == (30, 40, 3)
    b, g, r = (int(v) for v in img.bgr[15, 20])
    if kind == "gray16-png":
        assert b == g == r and 100 < r < 160 and img.bgr[15, 0, 0] == 0 and img.bgr[15, 39, 0] == 255
    else:
        assert abs(r - 255) < 12 and abs(g - 140) < 12 and b < 15, (b, g, r)
    if kind in ("rgba-png", "palette-transparent-gif"):
        assert tuple(int(v) for v in img.bgr[0, 0]) == (255, 255, 255)
