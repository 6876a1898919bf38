"""Sound library and frames-to-sound: index, search (text | audio | frames | video), stream, mix.

Also the documented contract of the original Frame-to-Audio Similarity API, kept exactly:
`POST /process_frames`, `GET /health`, `GET /`.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUpload

from sensorium import __version__
from sensorium.api.deps import ServicesDep
from sensorium.api.envelope import ANALYSIS_ERRORS, error_responses, ok
from sensorium.api.submit import accepted
from sensorium.api.uploads import receive_upload
from sensorium.concurrency import checker
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media.sniff import MIME, sniff_file
from sensorium.services import Services
from sensorium.sound import library as library
from sensorium.sound import search as search
from sensorium.sound.soundscape import soundscape_from_results
from sensorium.store.files import Workspace

router = APIRouter(tags=["sound"])

DEFAULT_COLLECTION = "default"
SOUNDSCAPE_KIND = "sound.soundscape"
FRAMES_MODELS = ("yolox-nano", "yamnet", "minilm")

CollectionPath = Annotated[str, Path(description="Collection name (letters, digits, `_`, `-`).",
                                     max_length=64)]
CollectionForm = Annotated[str, Form(description="Sound collection to search (see GET /api/library/sounds).",
                                     max_length=64)]
TopK = Annotated[int, Form(description="How many clips to return (1-100).", ge=1, le=100)]
Threshold = Annotated[float, Form(description="Minimum similarity (0-1) a clip needs to be returned.",
                                  ge=-1.0, le=1.0)]
Synthesize = Annotated[bool, Form(description="Also mix a soundscape from the top matches (WAV, stereo, "
                                              "44.1 kHz): layered, crossfaded, loudness-normalized, "
                                              "looped to `audio_length_in_s`.")]
Length = Annotated[float, Form(description="Soundscape length in seconds (0.5-60).", gt=0, le=60)]


# --- library -------------------------------------------------------------------------------------
class IndexRequest(BaseModel):
    directory: str = Field(..., description="Folder on the server to index recursively (WAV, FLAC, MP3, "
                           "OGG, M4A recognized by content). Sidecar `*.csv` / `*.json` tables with a "
                           "`fname`/`filename` column give captions, labels and splits.",
                           examples=["/srv/sfx"], max_length=4096)
    name: str = Field(DEFAULT_COLLECTION, description="Collection name (1-64 letters, digits, `_`, `-`). "
                      "Re-indexing the same name is incremental.", max_length=64)
    max_seconds: float = Field(library.DEFAULT_MAX_SECONDS, gt=0, le=3600,
                               description="Only the first N seconds of each file are analysed.")
    sfx_embeddings: bool = Field(True, description="Compute aiSFX sound-effect embeddings (better "
                                 "audio-example search; ~5x slower indexing on CPU). False: YAMNet only.")


@router.post(
    "/api/library/sounds/index",
    status_code=202,
    summary="Index a folder of sounds (background job)",
    description=(
        "Queues a `library.sounds.index` job that scans `directory` recursively and stores, per sound "
        "file: fname, path, duration, orig_sr, channels, split (metadata table, else the parent folder), "
        "the YAMNet profile over 521 AudioSet classes with top labels, YAMNet (1024-d) and aiSFX (512-d) "
        "embeddings, and captions/labels from sidecar CSV/JSON. Re-indexing is incremental (unchanged "
        "files skipped by size+mtime+SHA-256, removed files dropped); unreadable files are listed in the "
        "job result's `failed` and skipped. Poll `/api/jobs/{id}` (or its `/events` SSE stream). When "
        "LIBRARY_ROOTS is set, `directory` must lie inside one of those folders."
    ),
    responses={202: {"description": "The queued job (`job_id`, `status_url`, `events_url`)."},
               **error_responses(ErrorCode.VALIDATION_ERROR)},
)
def index_sounds(body: IndexRequest, services: ServicesDep) -> JSONResponse:
    library.table_name(body.name)  # validates the name
    folder = FsPath(body.directory).expanduser()
    if not folder.is_dir():
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"Folder {body.directory!r} does not exist on the server or is not a folder.",
                             details={"param": "directory"})
    roots = services.settings.library_roots
    resolved = folder.resolve()
    if roots and not any(resolved.is_relative_to(r.resolve()) for r in roots):
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"Folder {body.directory!r} is outside the folders this server may index "
                             "(LIBRARY_ROOTS).", details={"param": "directory"})
    job_id = services.jobs.new_id()
    job = services.jobs.submit(library.KIND, {
        "directory": str(folder.resolve()), "name": body.name, "max_seconds": body.max_seconds,
        "sfx_embeddings": body.sfx_embeddings,
    }, job_id=job_id)
    return accepted(job)


@router.get(
    "/api/library/sounds",
    summary="List sound collections",
    description="Every indexed sound collection with its folder, clip count, total duration, clips per "
    "split and format, and the summary of its last indexing run.",
)
def list_sound_collections(services: ServicesDep) -> dict[str, Any]:
    t0 = time.perf_counter()
    cols = library.list_collections(services.settings)
    return ok("sound_collections", {"collections": cols, "total": len(cols)},
              processing_time_ms=round((time.perf_counter() - t0) * 1000, 1), model=None)


@router.delete(
    "/api/library/sounds/{collection}",
    summary="Delete a sound collection",
    description="Removes the collection's index (vectors and metadata). The sound files themselves are "
    "never touched.",
    responses=error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR),
)
def delete_sound_collection(collection: CollectionPath, services: ServicesDep) -> dict[str, Any]:
    t0 = time.perf_counter()
    library.delete_collection(services.settings, collection)
    return ok("sound_collection_deleted", {"name": collection, "deleted": True},
              processing_time_ms=round((time.perf_counter() - t0) * 1000, 1), model=None)


@router.get(
    "/api/library/sounds/{collection}/{clip_id}/audio",
    summary="Stream a library clip",
    description="The original sound file of an indexed clip (the `audio_url` of search results). "
    "Supports HTTP Range requests (206 Partial Content) for seeking.",
    response_class=FileResponse,
    responses={200: {"description": "The audio file.", "content": {"audio/*": {}}},
               206: {"description": "The requested byte range."},
               **error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR)},
)
def clip_audio(
    collection: CollectionPath,
    clip_id: Annotated[str, Path(description="Clip id from a search result.", max_length=64)],
    services: ServicesDep,
) -> FileResponse:
    row = library.get_clip(services.settings, collection, clip_id)
    path = FsPath(row["path"])
    if not path.is_file():
        raise SensoriumError(ErrorCode.NOT_FOUND,
                             f"The file of clip {clip_id!r} ({row.get('rel_path')}) is no longer on disk; "
                             "re-index the collection.")
    guess = sniff_file(path)
    media_type = MIME.get(guess[1], "application/octet-stream") if guess else "application/octet-stream"
    return FileResponse(path, media_type=media_type, filename=row.get("fname") or path.name,
                        content_disposition_type="inline")


# --- search ------------------------------------------------------------------------------------------
def _make_soundscape(services: Services, collection: str, results: list[dict[str, Any]], seconds: float,
                     params: dict[str, Any]) -> dict[str, Any]:
    """Mix into a job's outputs folder; the file is served by GET /api/jobs/{id}/files/soundscape.wav."""
    job_id = services.jobs.new_id()
    out_dir = services.jobs.workdir(job_id) / "outputs"
    out_dir.mkdir(parents=True, exist_ok=True)
    info = soundscape_from_results(services.settings, collection, results, out_dir / "soundscape.wav",
                                   audio_length_in_s=seconds)
    url = f"/api/jobs/{job_id}/files/soundscape.wav"
    info.update({"job_id": job_id, "audio_url": url})
    services.jobs.create(SOUNDSCAPE_KIND, params, job_id=job_id, status="succeeded",
                         result={"type": "soundscape", "result": info})
    return info


@router.post(
    "/api/sound/search",
    summary="Search a sound library by text, audio example, frames or video",
    description=(
        "Give **exactly one** of:\n\n"
        "* `query` — text (\"rain on a tin roof\"): mapped onto the 521 AudioSet classes with "
        "all-MiniLM-L6-v2, clips scored by their YAMNet profiles, blended with word and meaning matches on "
        "captions, labels and filenames;\n"
        "* `audio` — a sound file: more like this (aiSFX + YAMNet embeddings, YAMNet profile);\n"
        "* `frames` — 1-20 images (JPEG, PNG, WebP, BMP, GIF): objects, people and motion are turned into "
        "an `audio_description` (or written by the configured vision endpoint), which is searched as text;\n"
        "* `video` — a video file: 8 evenly spaced frames, as `frames`.\n\n"
        "Results are ranked clips with `similarity` (0-1), `distance` (1 - similarity), `matched_labels`, "
        "a `reason`, and `audio_url` to stream the clip. `synthesize=true` adds a `soundscape` mixed from "
        "the top matches (download at its `audio_url`). A collection that was never indexed answers "
        "NOT_FOUND."
    ),
    responses=error_responses(*ANALYSIS_ERRORS, ErrorCode.NOT_FOUND),
)
async def sound_search(
    services: ServicesDep,
    query: Annotated[str | None, Form(description="Text describing the sound.", max_length=1000)] = None,
    audio: Annotated[UploadFile | None, File(description="An example sound (audio or video with audio).")] = None,
    frames: Annotated[list[UploadFile] | None, File(description="1-20 images of the scene.")] = None,
    video: Annotated[UploadFile | None, File(description="A video of the scene.")] = None,
    top_k: TopK = 10,
    similarity_threshold: Threshold = search.DEFAULT_THRESHOLD,
    synthesize: Synthesize = False,
    audio_length_in_s: Length = 10.0,
    collection: CollectionForm = DEFAULT_COLLECTION,
) -> dict[str, Any]:
    settings = services.settings
    frames = [f for f in (frames or []) if isinstance(f, StarletteUpload)]
    given = [n for n, v in (("query", query and query.strip()), ("audio", audio), ("frames", frames),
                            ("video", video)) if v]
    if len(given) != 1:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             "Give exactly one of `query`, `audio`, `frames` or `video`"
                             + (f" (got {', '.join(given)})." if given else " (got none)."),
                             details={"param": "query"})
    if frames and len(frames) > search.MAX_FRAMES:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"At most {search.MAX_FRAMES} frames are accepted; got {len(frames)}.",
                             details={"param": "frames"})
    library.require_collection(settings, collection)
    reg = services.registry
    common = dict(collection=collection, settings=settings, registry=reg, top_k=top_k,
                  similarity_threshold=similarity_threshold)
    t0 = time.perf_counter()
    with Workspace(settings.tmp_dir) as ws:
        mode = given[0]
        if mode == "query":
            result = await services.limiter.run(lambda stop: search.search_text(query or "", **common))
            models = "minilm+yamnet"
        elif mode == "audio":
            up = await receive_upload(audio, ws, settings, ("audio", "video"), field="audio")
            if not up.info.has_audio:
                raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The file has no audio track.",
                                     details={"param": "audio"})

            def run_audio(stop: Any) -> dict[str, Any]:
                wave = library.load_head(up.path, library.DEFAULT_MAX_SECONDS, checker(stop))
                return search.search_audio(wave, **common)

            result = await services.limiter.run(run_audio)
            result["filename"] = up.filename
            models = "yamnet+aisfx"
        elif mode == "frames":
            ups = [await receive_upload(f, ws, settings, ("image",), field="frames") for f in frames]
            result = await services.limiter.run(lambda stop: search.search_frames(
                search.load_frames([u.path for u in ups], settings), **common))
            result["frame_filenames"] = [u.filename for u in ups]
            models = "yolox-nano+minilm+yamnet"
        else:
            up = await receive_upload(video, ws, settings, ("video",), field="video")
            result = await services.limiter.run(lambda stop: search.search_frames(
                search.video_frames(up.path, 8, check=checker(stop)), **common))
            result["filename"] = up.filename
            models = "yolox-nano+minilm+yamnet"
        if synthesize:
            result["soundscape"] = await services.limiter.run(lambda stop: _make_soundscape(
                services, collection, result["results"], audio_length_in_s,
                {"mode": mode, "collection": collection}))
    return ok("sound_search", result, processing_time_ms=round((time.perf_counter() - t0) * 1000, 1),
              model=models)


# --- the documented contract of the Frame-to-Audio Similarity API --------------------------------------
class LegacyClipMetadata(BaseModel):
    duration: float | None = Field(None, description="Clip length in seconds.")
    orig_sr: int | None = Field(None, description="The file's original sample rate (Hz).")


class LegacyClip(BaseModel):
    fname: str = Field(..., description="File name of the library clip.")
    similarity: float = Field(..., description="0-1, higher is closer.")
    distance: float = Field(..., description="1 - similarity.")
    split: str = Field(..., description="The clip's split (metadata table, else its parent folder).")
    metadata: LegacyClipMetadata


class ProcessFramesResponse(BaseModel):
    frame_filenames: list[str] = Field(..., description="The uploaded frames' (sanitized) names, in order.")
    num_frames: int
    audio_description: str = Field(..., description="What the scene should sound like.")
    similar_clips: list[LegacyClip]
    total_results: int
    generated_audio: dict[str, Any] | None = Field(
        None, description="With synthesize=true: the mixed soundscape (`audio_url`, `duration`, "
        "`sample_rate`, `layers`, and the WAV as `audio_base64`).")


@router.post(
    "/process_frames",
    summary="Frames to sound (Frame-to-Audio Similarity API)",
    description=(
        "The original contract: multipart `frames` (1-20 **JPEG** files; anything else is rejected with "
        "INVALID_FILE_TYPE). The frames' objects, people and motion become an `audio_description` (written "
        "by the vision endpoint when LLM_BASE_URL/LLM_MODEL are set), which is searched in the sound "
        "library (`collection`, default `default`). Returns `frame_filenames`, `num_frames`, "
        "`audio_description`, `similar_clips` [{fname, similarity, distance, split, metadata {duration, "
        "orig_sr}}] and `total_results`. `synthesize=true` also returns `generated_audio`, a soundscape mixed "
        "from the top matches (AudioLDM2 generation is not available offline)."
    ),
    response_model=ProcessFramesResponse,
    response_model_exclude_none=True,
    responses=error_responses(*ANALYSIS_ERRORS, ErrorCode.NOT_FOUND),
)
async def process_frames(
    services: ServicesDep,
    frames: Annotated[list[UploadFile], File(description="1-20 JPEG frames of the scene.")],
    top_k: Annotated[int, Form(description="How many similar clips to return (1-100).", ge=1, le=100)] = 3,
    similarity_threshold: Threshold = search.DEFAULT_THRESHOLD,
    synthesize: Synthesize = False,
    audio_length_in_s: Length = 10.0,
    collection: CollectionForm = DEFAULT_COLLECTION,
) -> dict[str, Any]:
    settings = services.settings
    frames = [f for f in (frames or []) if isinstance(f, StarletteUpload)]
    if not frames:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "Send 1-20 JPEG files in the `frames` field.",
                             details={"param": "frames"})
    if len(frames) > search.MAX_FRAMES:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"At most {search.MAX_FRAMES} frames are accepted; got {len(frames)}.",
                             details={"param": "frames"})
    library.require_collection(settings, collection)
    with Workspace(settings.tmp_dir) as ws:
        ups = [await receive_upload(f, ws, settings, ("image",), field="frames", formats=("jpeg",))
               for f in frames]
        result = await services.limiter.run(lambda stop: search.search_frames(
            search.load_frames([u.path for u in ups], settings), collection=collection, settings=settings,
            registry=services.registry, top_k=top_k, similarity_threshold=similarity_threshold))
        body: dict[str, Any] = {
            "frame_filenames": [u.filename for u in ups],
            "num_frames": len(ups),
            "audio_description": result["audio_description"],
            "similar_clips": [{"fname": r["fname"], "similarity": r["similarity"], "distance": r["distance"],
                               "split": r["split"], "metadata": {"duration": r["metadata"]["duration"],
                                                                 "orig_sr": r["metadata"]["orig_sr"]}}
                              for r in result["results"]],
            "total_results": result["total_results"],
        }
        if synthesize:
            mix = await services.limiter.run(lambda stop: _make_soundscape(
                services, collection, result["results"], audio_length_in_s,
                {"mode": "process_frames", "collection": collection}))
            wav = services.jobs.workdir(mix["job_id"]) / "outputs" / mix["file"]
            mix["audio_base64"] = base64.b64encode(wav.read_bytes()).decode("ascii")
            body["generated_audio"] = mix
    return body


class LegacyHealth(BaseModel):
    status: str = Field(..., description="`healthy` when the frames-to-sound models are installed, else "
                        "`degraded`.")
    models_loaded: bool = Field(..., description="The models /process_frames needs (YOLOX-nano, YAMNet, "
                                "MiniLM) are installed and load on first use (they are loaded lazily).")
    qwen_model: bool = Field(..., description="A vision endpoint (LLM_BASE_URL + LLM_MODEL) is configured "
                             "to write audio descriptions (the original used Qwen2.5-VL).")
    qwen_processor: bool = Field(..., description="Same as qwen_model (no separate processor here).")
    audioldm_pipeline: bool = Field(..., description="AudioLDM2 generation is available: always false "
                                    "(not shipped); synthesis mixes library clips instead.")
    models: dict[str, dict[str, bool]] = Field(..., description="Per model: installed and currently loaded.")


@router.get(
    "/health",
    summary="Health (Frame-to-Audio Similarity API)",
    description="The original health document, reporting the real state. The platform health is "
    "GET /api/health.",
    response_model=LegacyHealth,
)
def legacy_health(services: ServicesDep) -> dict[str, Any]:
    reg = services.registry
    models = {}
    for name in FRAMES_MODELS:
        try:
            models[name] = {"installed": reg.locate(name) is not None, "loaded": reg.is_loaded(name)}
        except SensoriumError:
            models[name] = {"installed": False, "loaded": False}
    ready = all(m["installed"] for m in models.values())
    llm = bool(services.settings.llm_configured)
    return {"status": "healthy" if ready else "degraded", "models_loaded": ready, "qwen_model": llm,
            "qwen_processor": llm, "audioldm_pipeline": False, "models": models}


@router.get(
    "/",
    summary="Simple health check",
    description="A light liveness answer for API clients of the Frame-to-Audio Similarity API.",
)
def root() -> dict[str, Any]:
    return {"status": "ok", "message": "Sensorium Frame-to-Audio Similarity API is running",
            "version": __version__, "docs": "/docs"}
