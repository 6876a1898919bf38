"""The OpenAI-compatible vision client against a small local server speaking the chat protocol."""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sensorium.models.llm import VisionLLM
from sensorium.models.registry import ModelRegistry
from sensorium.vision.image import analyze_image_file
from sensorium.vision.schemas import ImageOptions, VideoOptions
from sensorium.vision.video import analyze_video
from testkit.settings import make_settings
from tests.visual import media

pytestmark = pytest.mark.usefixtures("shared_models")  # these tests run YOLOX-nano / YAMNet


class FakeOpenAI:
    """Records every request; answers like an OpenAI chat-completions endpoint."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = json.loads(body)
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "json": payload})
                if outer.fail_with:
                    self.send_response(outer.fail_with)
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "model is loading"}}')
                    return
                text = payload["messages"][1]["content"][0]["text"]
                reply = ("A large blue bus stops on a city street while people walk past."
                         if "Describe the" in text else "I count four people near the bus.")
                out = json.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": payload["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def fake_llm():
    srv = FakeOpenAI()
    yield srv
    srv.close()


def _settings(tmp_path: Path, url: str, key: str | None = "sk-test"):
    return make_settings(tmp_path, llm_base_url=url, llm_model="qwen2.5vl:3b", llm_api_key=key)


def _llm(settings) -> VisionLLM | None:
    """The vision client these settings configure (the session's registry has none)."""
    return ModelRegistry(settings).vision_llm()


def test_image_description_and_answer_from_the_endpoint(services, shared_dir: Path, tmp_path: Path,
                                                       fake_llm: FakeOpenAI) -> None:
    from PIL import Image

    settings = _settings(tmp_path, fake_llm.url)
    bus = shared_dir / "testdata" / "images" / "bus.jpg"
    res = analyze_image_file(bus, services.registry, settings,
                             ImageOptions(prompt="How many people are there?", max_length=120),
                             llm=_llm(settings)).dump_with_run_info()
    assert res["description"] == "A large blue bus stops on a city street while people walk past."
    assert res["description_source"] == "llm"
    assert res["answer"] == "I count four people near the bus."
    assert res["answer_details"]["basis"] == "llm"
    assert "llm:qwen2.5vl:3b" in res["models"]
    # the findings are still the detectors'
    assert "bus" in res["object_counts"]

    assert len(fake_llm.requests) == 2
    for req in fake_llm.requests:
        assert req["path"] == "/v1/chat/completions"
        assert req["headers"]["Authorization"] == "Bearer sk-test"
        assert req["headers"]["Content-Type"] == "application/json"
        body = req["json"]
        assert body["model"] == "qwen2.5vl:3b" and body["stream"] is False and body["temperature"] == 0.2
        system, user = body["messages"]
        assert system["role"] == "system" and "findings" in system["content"]
        assert user["role"] == "user"
        text_part, image_part = user["content"]
        assert text_part["type"] == "text" and image_part["type"] == "image_url"
        url = image_part["image_url"]["url"]
        assert url.startswith("data:image/jpeg;base64,")
        with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as im:
            assert im.format == "JPEG" and im.size == (576, 768)  # 810x1080 scaled to a 768 side
        findings = json.loads(text_part["text"].split("\n", 1)[1].split("\n\n", 1)[0])
        assert findings["object_counts"]["bus"] == 1 and findings["people"]["count"] >= 3
        assert "emisiones" in " ".join(findings["text"]).lower()
    describe_req, answer_req = (r["json"]["messages"][1]["content"][0]["text"] for r in fake_llm.requests)
    assert "at most 120 characters" in describe_req
    assert "Question about the image: How many people are there?" in answer_req
    assert fake_llm.requests[0]["json"]["max_tokens"] == 60


def test_endpoint_failure_falls_back_to_findings(services, shared_dir: Path, tmp_path: Path,
                                                 fake_llm: FakeOpenAI) -> None:
    fake_llm.fail_with = 503
    settings = _settings(tmp_path, fake_llm.url, key=None)
    res = analyze_image_file(shared_dir / "testdata" / "images" / "zidane.jpg", services.registry, settings,
                             ImageOptions(prompt="how many people are there?"), llm=_llm(settings)).model_dump()
    assert res["description_source"] == "findings"
    assert "two people" in res["description"].lower() and "two people" in res["answer"]
    assert any("HTTP 503" in n for n in res["notes"])
    assert "Authorization" not in fake_llm.requests[0]["headers"]


def test_unreachable_endpoint_is_reported(services, shared_dir: Path, tmp_path: Path) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    settings = _settings(tmp_path, f"http://127.0.0.1:{port}/v1")
    res = analyze_image_file(shared_dir / "testdata" / "images" / "zidane.jpg", services.registry, settings,
                             ImageOptions(), llm=_llm(settings)).model_dump()
    assert res["description_source"] == "findings"
    assert any("unreachable" in n for n in res["notes"])


def test_video_sends_several_frames(services, media_dir: Path, tmp_path: Path, fake_llm: FakeOpenAI) -> None:
    clip = media.cut_clip(media_dir / "llm.mp4", cut_at=1.0, duration=2.0, fps=10)
    settings = _settings(tmp_path, fake_llm.url)
    res = analyze_video(clip, services.registry, settings, VideoOptions(num_frames=3, prompt="What happens?"),
                        llm=_llm(settings)).model_dump()
    assert res["description_source"] == "llm"
    assert res["answer"] == "I count four people near the bus."
    body = fake_llm.requests[0]["json"]
    images = [p for p in body["messages"][1]["content"] if p["type"] == "image_url"]
    assert len(images) == 3
    assert "Describe the video" in body["messages"][1]["content"][0]["text"]
