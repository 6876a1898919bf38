"""OpenAI-compatible vision chat client (Ollama, vLLM, LM Studio, llama.cpp server, OpenRouter...).

Used only when LLM_BASE_URL and LLM_MODEL are set. The image goes as a JPEG data URI
(`image_url` content part); the structured findings of the offline detectors go in the text
part, so the model's description and answers are grounded in what was really measured.

    llm = registry.vision_llm()          # None unless LLM_BASE_URL and LLM_MODEL are set
    text = llm.describe(bgr, findings, max_length=200)
    text = llm.answer(bgr, findings, "how many people are there?")

Request: `POST {LLM_BASE_URL}/chat/completions` with `Authorization: Bearer {LLM_API_KEY}` when a
key is set; `{"model", "messages": [system, user[text, image_url...]], "max_tokens",
"temperature": 0.2, "stream": false}`. Failures raise `SensoriumError(SERVICE_UNAVAILABLE)` (endpoint
unreachable/5xx/timeout) or `PROCESSING_FAILED` (a malformed answer); callers fall back to the
findings-based text and say so.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError

SYSTEM_PROMPT = (
    "You are the vision component of Sensorium, a media-analysis service. You see the image and "
    "receive the findings of offline detectors (objects with boxes, people, faces with expressions, "
    "poses, OCR text, colours, image quality). Trust the counts and the OCR text of the findings "
    "unless the image clearly contradicts them. Answer plainly and briefly; do not invent details "
    "you cannot see; if something cannot be determined, say so."
)
IMAGE_SIDE = 768  # longest side sent to the endpoint


def encode_jpeg_data_uri(bgr: np.ndarray, max_side: int = IMAGE_SIDE, quality: int = 85) -> str:
    import cv2

    h, w = bgr.shape[:2]
    if max(h, w) > max_side:
        r = max_side / max(h, w)
        bgr = cv2.resize(bgr, (max(1, int(w * r)), max(1, int(h * r))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", bgr, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:  # pragma: no cover
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "Could not encode the image for the LLM.")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def compact_findings(findings: dict[str, Any]) -> dict[str, Any]:
    """The findings without bulky fields (landmark details, per-line boxes) for the prompt."""
    people = findings.get("people") or {}
    text = findings.get("text") or {}
    out: dict[str, Any] = {
        "objects": [{"label": o["label"], "score": o["score"], "box": o["box"],
                     **({"color": o["color"]} if o.get("color") else {})}
                    for o in (findings.get("objects") or [])[:30]],
        "object_counts": findings.get("object_counts"),
        "people": {
            "count": people.get("count"),
            "faces": [{"expression": f.get("expression"), "smiling": f.get("smiling"), "box": f.get("box")}
                      for f in (people.get("faces") or [])],
            "poses": [{"posture": p.get("posture"), "facing": p.get("facing")} for p in (people.get("poses") or [])],
        },
        "text": [t["text"] for t in (text.get("lines") or [])],
        "colors": [c["name"] for c in ((findings.get("colors") or {}).get("dominant") or [])],
        "quality": findings.get("quality"),
    }
    for key in ("timestamp", "scene_change", "audio", "summary"):
        if key in findings:
            out[key] = findings[key]
    return out


@dataclass
class VisionLLM:
    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> VisionLLM:
        if not settings.llm_configured:
            raise SensoriumError(
                ErrorCode.MODEL_NOT_LOADED,
                "No vision LLM endpoint is configured: set LLM_BASE_URL and LLM_MODEL.",
            )
        return cls(settings.llm_base_url.rstrip("/"), settings.llm_model, settings.llm_api_key,  # type: ignore[union-attr]
                   settings.llm_timeout_seconds)

    # -- protocol -----------------------------------------------------------------------------
    def build_request(self, images: list[np.ndarray], text: str, *, max_tokens: int = 300) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        for img in images:
            content.append({"type": "image_url", "image_url": {"url": encode_jpeg_data_uri(img)}})
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": content},
            ],
            "max_tokens": max_tokens,
            "temperature": 0.2,
            "stream": False,
        }

    def chat(self, payload: dict[str, Any]) -> str:
        import httpx

        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        url = f"{self.base_url}/chat/completions"
        try:
            resp = httpx.post(url, json=payload, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise SensoriumError(ErrorCode.SERVICE_UNAVAILABLE,
                                 f"The LLM endpoint timed out after {self.timeout:.0f}s.") from exc
        except httpx.HTTPError as exc:
            raise SensoriumError(ErrorCode.SERVICE_UNAVAILABLE,
                                 f"The LLM endpoint {url} is unreachable: {exc}.") from exc
        if resp.status_code >= 400:
            detail = resp.text[:300]
            raise SensoriumError(
                ErrorCode.SERVICE_UNAVAILABLE,
                f"The LLM endpoint answered HTTP {resp.status_code}: {detail}",
            )
        try:
            data = resp.json()
            content = data["choices"][0]["message"]["content"]
            if isinstance(content, list):  # some servers return content parts
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            text = str(content).strip()
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise SensoriumError(ErrorCode.PROCESSING_FAILED,
                                 "The LLM endpoint returned an unexpected response.") from exc
        if not text:
            raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The LLM endpoint returned an empty answer.")
        return text

    # -- tasks -----------------------------------------------------------------------------------
    def describe(self, bgr: np.ndarray | list[np.ndarray], findings: dict[str, Any], *, max_length: int = 200,
                 kind: str = "image") -> str:
        images = bgr if isinstance(bgr, list) else [bgr]
        text = (
            f"Detector findings (JSON):\n{json.dumps(compact_findings(findings), ensure_ascii=False)}\n\n"
            f"Describe the {kind} in one or two fluent sentences, at most {max_length} characters. "
            "Mention the main subjects and what they are doing."
        )
        return self.chat(self.build_request(images, text, max_tokens=max(32, max_length // 2)))

    def answer(self, bgr: np.ndarray | list[np.ndarray], findings: dict[str, Any], question: str,
               *, kind: str = "image") -> str:
        images = bgr if isinstance(bgr, list) else [bgr]
        text = (
            f"Detector findings (JSON):\n{json.dumps(compact_findings(findings), ensure_ascii=False)}\n\n"
            f"Question about the {kind}: {question}\nAnswer in at most three sentences."
        )
        return self.chat(self.build_request(images, text, max_tokens=200))
