"""Surface estimation from floor colour/texture, with the reason reported."""

from __future__ import annotations

import numpy as np

from sensorium.foley.surface import classify, estimate_surface, features


def _patch(kind: str, rng: np.random.Generator) -> np.ndarray:
    import cv2

    h, w = 80, 160
    if kind == "grass":
        hsv = np.zeros((h, w, 3), np.uint8)
        hsv[..., 0] = rng.integers(45, 65, (h, w))  # OpenCV hue 0..180: green
        hsv[..., 1] = rng.integers(120, 220, (h, w))
        hsv[..., 2] = rng.integers(60, 200, (h, w))
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    if kind == "gravel":
        img = rng.integers(60, 200, (h // 4, w // 4)).astype(np.uint8)
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_NEAREST)
        img = np.clip(img + rng.normal(0, 25, (h, w)), 0, 255).astype(np.uint8)
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if kind == "wood":
        rows = 20 * np.sin(np.arange(h)[:, None] / 3.0) + rng.normal(0, 3, (h, w))
        img = np.zeros((h, w, 3), np.float32)
        img[..., 0], img[..., 1], img[..., 2] = 40 + rows * 0.3, 90 + rows * 0.6, 150 + rows  # brown (BGR)
        return np.clip(img, 0, 255).astype(np.uint8)
    if kind == "tile":
        img = np.full((h, w, 3), 215, np.uint8) + rng.integers(0, 4, (h, w, 1)).astype(np.uint8)
        img[:, 78:80] = 190  # a grout line
        return img
    raise ValueError(kind)


def test_rules_name_typical_floors_with_a_reason() -> None:
    rng = np.random.default_rng(0)
    for kind in ("grass", "gravel", "wood", "tile"):
        surface, reason = classify(features([_patch(kind, rng) for _ in range(3)]))
        assert surface == kind, (kind, surface, reason)
        assert reason


def test_real_clip_floor_is_tile_and_vision_falls_back_without_endpoint(labelled_detections) -> None:
    det = labelled_detections["gait_abnormal_08_no_arm_swing.mp4"]
    est = estimate_surface(det.background, det.events, det.video["width"], det.video["height"])
    assert est.surface == "tile" and est.source == "rules", est  # glossy light floor tiles
    assert est.patches >= 5
    est = estimate_surface(det.background, det.events, det.video["width"], det.video["height"],
                           llm=None, use_vision=True)  # what registry.vision_llm() gives without an endpoint
    assert est.source == "rules" and "not configured" in est.reason


def test_vision_endpoint_names_the_surface(labelled_detections, tmp_path) -> None:
    """`surface=vision` sends a floor crop to an OpenAI-compatible endpoint (a local fake here)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from sensorium.models.registry import ModelRegistry
    from testkit.settings import make_settings

    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(payload)
            message = {"role": "assistant", "content": "Gravel."}
            out = json.dumps({"choices": [{"index": 0, "message": message}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = make_settings(tmp_path, llm_base_url=f"http://127.0.0.1:{server.server_address[1]}/v1",
                                 llm_model="fake-vlm")
        det = labelled_detections["gait_abnormal_05_limping.mp4"]
        est = estimate_surface(det.background, det.events, det.video["width"], det.video["height"],
                               llm=ModelRegistry(settings).vision_llm(), use_vision=True)
    finally:
        server.shutdown()
    assert est.surface == "gravel" and est.source == "vision", est
    assert "rules said tile" in est.reason
    content = seen[0]["messages"][1]["content"]
    assert "puddle" in content[0]["text"] and content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
