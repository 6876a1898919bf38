"""Image analysis on real photos and generated images, through the HTTP API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.visual import media

pytestmark = pytest.mark.usefixtures("shared_models")  # these tests run YOLOX-nano / YAMNet


@pytest.fixture(scope="module")
def photos(shared_dir: Path) -> dict[str, Path]:
    d = shared_dir / "testdata" / "images"
    if not (d / "bus.jpg").is_file():
        pytest.skip("../shared/testdata/images missing")
    if not (shared_dir / "models" / "yolox-nano" / "yolox_nano.onnx").is_file():
        pytest.skip("../shared/models/yolox-nano missing")
    return {"bus": d / "bus.jpg", "zidane": d / "zidane.jpg"}


def post_image(client: TestClient, path: Path, **data: str) -> tuple[int, dict]:
    with open(path, "rb") as fh:
        r = client.post("/api/analyze/image", files={"image": (path.name, fh)}, data=data)
    return r.status_code, r.json()


_cache: dict[tuple, tuple[int, dict]] = {}


def analyzed(client: TestClient, path: Path, **data: str) -> dict:
    key = (str(path), tuple(sorted(data.items())))
    if key not in _cache:
        _cache[key] = post_image(client, path, **data)
    status, body = _cache[key]
    assert status == 200, body
    assert body["success"] is True
    assert body["data"]["type"] == "image"
    return body["data"]["result"]


def test_bus_photo_has_a_bus_and_people(client: TestClient, photos: dict[str, Path]) -> None:
    res = analyzed(client, photos["bus"])
    labels = [o["label"] for o in res["objects"]]
    assert "bus" in labels
    assert res["object_counts"]["person"] >= 3
    assert res["people"]["count"] == res["object_counts"]["person"]
    bus = next(o for o in res["objects"] if o["label"] == "bus")
    x1, y1, x2, y2 = bus["box"]
    # the bus spans most of the 810-px-wide photo, in its middle band
    assert x2 - x1 > 600 and 150 < y1 < 350 and 650 < y2 < 850
    # boxes are in the original image's pixels
    assert res["image"]["width"] == 810 and res["image"]["height"] == 1080
    assert all(0 <= v <= 1080 for o in res["objects"] for v in o["box"])


def test_zidane_photo_has_two_people_with_faces(client: TestClient, photos: dict[str, Path]) -> None:
    res = analyzed(client, photos["zidane"])
    assert res["people"]["count"] == 2
    faces = res["people"]["faces"]
    assert len(faces) == 2
    for f in faces:
        assert f["expression"] in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
        assert abs(sum(f["expression_scores"].values()) - 1) < 0.02
    # each face lies inside a person box (upper part)
    persons = [o["box"] for o in res["objects"] if o["label"] == "person"]
    for f in faces:
        cx, cy = (f["box"][0] + f["box"][2]) / 2, (f["box"][1] + f["box"][3]) / 2
        assert any(p[0] <= cx <= p[2] and p[1] <= cy <= (p[1] + p[3]) / 2 + 100 for p in persons)


def test_description_mentions_the_main_objects(client: TestClient, photos: dict[str, Path]) -> None:
    bus = analyzed(client, photos["bus"])["description"]
    assert "bus" in bus.lower() and "people" in bus.lower()
    assert len(bus) <= 200
    zid = analyzed(client, photos["zidane"])["description"]
    assert "two people" in zid.lower()


def test_description_respects_max_length(client: TestClient, photos: dict[str, Path]) -> None:
    res = analyzed(client, photos["bus"], max_length="40")
    assert 0 < len(res["description"]) <= 40


def test_findings_are_complete(client: TestClient, photos: dict[str, Path]) -> None:
    res = analyzed(client, photos["bus"])
    assert res["colors"]["dominant"] and abs(sum(c["fraction"] for c in res["colors"]["dominant"]) - 1) < 0.01
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c["hex"]) for c in res["colors"]["dominant"])
    q = res["quality"]
    assert 0 < q["brightness"] < 1 and q["sharpness"] > 0 and q["sharpness_label"] in ("blurry", "soft", "sharp")
    assert 0 <= res["nsfw_score"] < 0.2
    assert res["people"]["poses"], "the largest people get a pose"
    assert {p["posture"] for p in res["people"]["poses"]} & {"standing"}
    # the bus side carries an advertisement: OCR reads some of it
    assert "emisiones" in res["text"]["full_text"].lower()
    assert res["notes"] == []


@pytest.mark.parametrize(
    ("photo", "question", "expected"),
    [
        ("zidane", "How many people are there?", r"\btwo people\b"),
        ("zidane", "Is there a bus?", r"^No\b"),
        ("bus", "Is there a bus in this picture?", r"^Yes\b"),
        ("bus", "how many buses are there?", r"\ba bus\b"),
        ("bus", "What does the text say?", r"emisiones"),
        ("zidane", "how many faces can you see?", r"\btwo faces\b"),
        ("zidane", "Are they smiling?", r"^(No|Partly|Yes)\b.*expressions:"),
    ],
)
def test_prompt_questions_are_answered(client: TestClient, photos: dict[str, Path], photo: str, question: str,
                                       expected: str) -> None:
    res = analyzed(client, photos[photo], prompt=question)
    assert re.search(expected, res["answer"], re.I), res["answer"]
    assert res["answer_details"]["answerable"] is True


def test_people_count_answer_matches_detections(client: TestClient, photos: dict[str, Path]) -> None:
    res = analyzed(client, photos["bus"], prompt="How many people are there?")
    n = res["people"]["count"]
    words = {3: "three", 4: "four", 5: "five"}
    assert words[n] in res["answer"]


def test_smiling_answer_follows_the_expressions(client: TestClient, photos: dict[str, Path]) -> None:
    res = analyzed(client, photos["zidane"], prompt="Are they smiling?")
    smiling = [f["smiling"] for f in res["people"]["faces"]]
    if not any(smiling):
        assert res["answer"].startswith("No")
    elif all(smiling):
        assert res["answer"].startswith("Yes")
    else:
        assert res["answer"].startswith("Partly")


def test_unanswerable_question_says_so(client: TestClient, photos: dict[str, Path]) -> None:
    res = analyzed(client, photos["bus"], prompt="What city was this taken in?")
    assert res["answer_details"]["answerable"] is False
    assert "can't" in res["answer"]
    res = analyzed(client, photos["bus"], prompt="How many clouds are there?")
    assert res["answer_details"]["answerable"] is False
    assert "can't count clouds" in res["answer"]


def test_rendered_text_is_read_back(client: TestClient, media_dir: Path) -> None:
    path = media.text_image(["SENSORIUM OPEN DAY", "ROOM 42 AT 10:30"], media_dir / "text.png")
    res = analyzed(client, path, prompt="What does the sign say?")
    lines = [t["text"] for t in res["text"]["lines"]]
    assert lines == ["SENSORIUM OPEN DAY", "ROOM 42 AT 10:30"], lines
    assert "SENSORIUM OPEN DAY" in res["answer"]
    assert "SENSORIUM OPEN DAY" in res["description"]
    # boxes in reading order, inside the image
    ys = [min(p[1] for p in t["box"]) for t in res["text"]["lines"]]
    assert ys == sorted(ys) and all(0 <= p[0] <= 900 and 0 <= p[1] <= 360
                                    for t in res["text"]["lines"] for p in t["box"])
    assert res["objects"] == []


def test_one_pixel_image(client: TestClient, media_dir: Path) -> None:
    res = analyzed(client, media.tiny_png(media_dir / "one.png"), prompt="what colors are there?")
    assert res["image"]["width"] == 1 and res["image"]["height"] == 1
    assert res["objects"] == [] and res["people"]["count"] == 0
    assert res["colors"]["dominant"][0]["name"] == "orange"
    assert "orange" in res["answer"]
    assert "1x1" in res["description"]
    assert any("too small" in n for n in res["notes"])


def test_decompression_bomb_is_refused_before_decoding(client: TestClient, media_dir: Path) -> None:
    path = media.png_bomb(media_dir / "bomb.png")
    assert path.stat().st_size < 500_000
    status, body = post_image(client, path)
    assert status == 413
    assert body["error"]["code"] == "FILE_TOO_LARGE"
    assert "900 megapixels" in body["error"]["message"] and "MAX_IMAGE_PIXELS" in body["error"]["message"]


def test_animated_gif_first_frame(client: TestClient, media_dir: Path) -> None:
    res = analyzed(client, media.animated_gif(media_dir / "anim.gif"))
    assert res["image"]["animated"] is True and res["image"]["frame_count"] == 3
    assert res["image"]["analyzed_frame"] == 0
    assert res["colors"]["dominant"][0]["name"] == "red"  # the first frame is red
    assert any("first frame" in n for n in res["notes"])


def test_truncated_and_fake_images(client: TestClient, photos: dict[str, Path], media_dir: Path) -> None:
    data = photos["bus"].read_bytes()
    trunc = media_dir / "trunc.jpg"
    trunc.write_bytes(data[: len(data) // 3])
    status, body = post_image(client, trunc)
    assert status == 422 and body["error"]["code"] == "PROCESSING_FAILED"
    assert "truncated" in body["error"]["message"]
    fake = media_dir / "fake.jpg"
    fake.write_bytes(b"this is not an image at all, just text" * 10)
    status, body = post_image(client, fake)
    assert status == 415 and body["error"]["code"] == "INVALID_FILE_TYPE"


def test_bad_parameters(client: TestClient, photos: dict[str, Path]) -> None:
    status, body = post_image(client, photos["zidane"], max_length="0")
    assert status == 422 and body["error"]["code"] == "VALIDATION_ERROR"
    r = client.post("/api/analyze/image", data={"prompt": "hi"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_exif_orientation_is_applied(client: TestClient, photos: dict[str, Path], media_dir: Path) -> None:
    """A photo stored sideways with EXIF orientation 6 (rotate 90° CW to view) is analysed upright."""
    from PIL import Image

    with Image.open(photos["zidane"]) as im:
        stored = im.rotate(90, expand=True)  # what a camera writes for orientation 6
        exif = Image.Exif()
        exif[0x0112] = 6
        path = media_dir / "rotated.jpg"
        stored.save(path, "JPEG", exif=exif.tobytes(), quality=92)
    res = analyzed(client, path)
    assert res["image"]["width"] == 1280 and res["image"]["height"] == 720
    assert res["image"]["exif_rotated"] is True
    assert res["people"]["count"] == 2


def test_missing_models_are_reported_not_invented(settings, shared_dir: Path) -> None:
    """An optional model that is not installed leaves its finding null with a note; YOLOX is required."""
    from dataclasses import replace

    from sensorium.errors import SensoriumError
    from sensorium.models.catalog import all_specs
    from sensorium.models.registry import ModelRegistry
    from sensorium.models.resolver import WeightsNotFound
    from sensorium.vision.image import analyze_image_file
    from sensorium.vision.schemas import ImageOptions

    def absent(resolver):
        raise WeightsNotFound("weights not found (test)")

    def registry_without(*names: str) -> ModelRegistry:
        reg = ModelRegistry(settings)
        for spec in all_specs():
            reg.register(replace(spec, locate=absent, check=None) if spec.name in names else spec)
        return reg

    photo = shared_dir / "testdata" / "images" / "zidane.jpg"
    opts = ImageOptions(pose=False, face_mesh=False, ocr=False)
    reg = registry_without("open-nsfw", "fer-expression")
    try:
        res = analyze_image_file(photo, reg, settings, opts).model_dump(mode="json")
    finally:
        reg.close()
    assert res["nsfw_score"] is None and res["people"]["count"] == 2
    assert all(f["expression"] is None and f["note"] == "expression model not available"
               for f in res["people"]["faces"])
    assert any("open-nsfw is not available" in n for n in res["notes"])
    assert any("fer-expression is not available" in n for n in res["notes"])
    reg = registry_without("yolox-nano")
    try:
        with pytest.raises(SensoriumError) as err:
            analyze_image_file(photo, reg, settings, opts)
    finally:
        reg.close()
    assert err.value.code.value == "MODEL_NOT_LOADED" and "yolox_nano.onnx" in err.value.message
