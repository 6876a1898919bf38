"""Sound library and frames-to-sound: index, search (text | audio | frames | video), stream, mix.

Also the documented contract of the original Frame-to-Audio Similarity API, kept exactly:
`POST /process_frames`, `GET /health`, `GET /`.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from pydantic import Field
from starlette.datastructures import UploadFile as StarletteUpload

from sensorium import __version__
from sensorium.api.deps import ServicesDep
from sensorium.api.envelope import ANALYSIS_ERRORS, Envelope, error_responses, ok
from sensorium.api.submit import accepted
from sensorium.api.uploads import receive_upload
from sensorium.concurrency import checker
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.jobs.schemas import JobRecord
from sensorium.sound.schemas import (
    DEFAULT_COLLECTION,
    DEFAULT_THRESHOLD,
    CollectionDeleted,
    CollectionList,
    IndexRequest,
    InputFile,
    LegacyHealth,
    LegacyRoot,
    ProcessFramesResponse,
    SearchOptions,
    SoundSearch,
    StoredFile,
)
from sensorium.store.files import Workspace
from sensorium.web import prefers_html

router = APIRouter(tags=["sound"])

#: what each search input may be (types sniffed from the bytes)
UPLOAD_KINDS = {"audio": ("audio", "video"), "frames": ("image",), "video": ("video",)}

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


class IndexJobAccepted(JobRecord):
    job_id: str = Field(..., description="The job id (poll `status_url`).")
    status_url: str = Field(..., description="`/api/jobs/{id}`: progress, then the summary.")
    events_url: str = Field(..., description="`/api/jobs/{id}/events`: the same as a server-sent event stream.")


def _stream(f: StoredFile) -> FileResponse:
    return FileResponse(f.path, media_type=f.media_type, filename=f.filename, content_disposition_type="inline")


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


# --- library -------------------------------------------------------------------------------------
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
        "job result's `failed` and skipped. Poll `/api/jobs/{id}` (or its `/events` SSE stream).\n\n"
        "**Only folders inside the library roots** can be indexed over HTTP: `DATA_DIR/libraries` (created "
        "at start; a relative `directory` is taken there), SOUND_LIBRARY_DIR, MUSIC_LIBRARY_DIR and "
        "LIBRARY_ROOTS. Any other folder, a missing one or a file gets the same VALIDATION_ERROR (nothing "
        "is told about paths outside the roots). The job's parameters and result name the folder relative "
        "to its root. The CLI (`sensorium library index DIR --name NAME`) may index any folder."
    ),
    response_model=Envelope[IndexJobAccepted],
    responses={202: {"description": "The queued job (`job_id`, `status_url`, `events_url`)."},
               **error_responses(ErrorCode.VALIDATION_ERROR)},
)
def index_sounds(body: IndexRequest, services: ServicesDep) -> JSONResponse:
    return accepted(services.sound.submit_index(body))


@router.get(
    "/api/library/sounds",
    summary="List sound collections",
    description="Every indexed sound collection with its folder (relative to its library root; only its name "
    "when it was indexed from elsewhere with the CLI), clip count, total duration, clips per split and format, "
    "and the summary of its last indexing run.",
    response_model=Envelope[CollectionList],
)
def list_sound_collections(services: ServicesDep) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = services.sound.list_collections(public=True)
    return ok("sound_collections", result, processing_time_ms=_ms(t0), model=None)


@router.delete(
    "/api/library/sounds/{collection}",
    summary="Delete a sound collection",
    description="Removes the collection's index (vectors and metadata). The sound files themselves are "
    "never touched.",
    response_model=Envelope[CollectionDeleted],
    responses=error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR),
)
def delete_sound_collection(collection: CollectionPath, services: ServicesDep) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = services.sound.delete_collection(collection)
    return ok("sound_collection_deleted", result, processing_time_ms=_ms(t0), model=None)


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
    return _stream(services.sound.clip_file(collection, clip_id))


# --- search ------------------------------------------------------------------------------------------
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
    response_model=Envelope[SoundSearch],
    responses=error_responses(*ANALYSIS_ERRORS, ErrorCode.NOT_FOUND),
)
async def sound_search(
    services: ServicesDep,
    query: Annotated[str | None, Form(description="Text describing the sound.", max_length=1000)] = None,
    audio: Annotated[UploadFile | None, File(description="An example sound (audio or video with audio).")] = None,
    frames: Annotated[list[UploadFile] | None, File(description="1-20 images of the scene.")] = None,
    video: Annotated[UploadFile | None, File(description="A video of the scene.")] = None,
    top_k: TopK = 10,
    similarity_threshold: Threshold = DEFAULT_THRESHOLD,
    synthesize: Synthesize = False,
    audio_length_in_s: Length = 10.0,
    collection: CollectionForm = DEFAULT_COLLECTION,
) -> dict[str, Any]:
    settings = services.settings
    frames = [f for f in (frames or []) if isinstance(f, StarletteUpload)]
    mode = services.sound.search_mode(query=query, audio=bool(audio), frames=len(frames), video=bool(video))
    services.sound.require_collection(collection)
    opts = SearchOptions(collection=collection, top_k=top_k, similarity_threshold=similarity_threshold,
                         synthesize=synthesize, audio_length_in_s=audio_length_in_s)
    uploads = {"audio": [audio], "frames": frames, "video": [video]}.get(mode, [])
    t0 = time.perf_counter()
    with Workspace(settings.tmp_dir) as ws:
        files = []
        for f in uploads:
            up = await receive_upload(f, ws, settings, UPLOAD_KINDS[mode], field=mode)
            if mode == "audio" and not up.info.has_audio:
                raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The file has no audio track.",
                                     details={"param": "audio"})
            files.append(InputFile(path=str(up.path), filename=up.filename))
        result = await services.limiter.run(lambda stop: services.sound.search(
            mode, opts, query=query, files=files, check=checker(stop)))
    return ok("sound_search", result, processing_time_ms=_ms(t0), model=result.model)


@router.get(
    "/api/sound/soundscapes/{soundscape_id}/audio",
    summary="Download a soundscape",
    description="The WAV mixed by a search with `synthesize=true` (its `soundscape.audio_url`). Kept for "
    "JOB_RETENTION_HOURS. Supports HTTP Range requests.",
    response_class=FileResponse,
    responses={200: {"description": "The WAV file.", "content": {"audio/wav": {}}},
               206: {"description": "The requested byte range."},
               **error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR)},
)
def soundscape_audio(
    soundscape_id: Annotated[str, Path(description="`soundscape.job_id` of the search result.", max_length=64)],
    services: ServicesDep,
) -> FileResponse:
    return _stream(services.sound.soundscape_file(soundscape_id))


# --- the documented contract of the Frame-to-Audio Similarity API --------------------------------------
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
        "from the top matches (AudioLDM2 generation is not available offline). Without an indexed "
        "collection (`default` unless `collection` is given) it answers 404 NOT_FOUND saying how to index "
        "one: `sensorium library index DIR --name default` on the server, or POST /api/library/sounds/index."
    ),
    response_model=ProcessFramesResponse,
    response_model_exclude_none=True,
    responses=error_responses(*ANALYSIS_ERRORS, ErrorCode.NOT_FOUND),
)
async def process_frames(
    services: ServicesDep,
    frames: Annotated[list[UploadFile], File(description="1-20 JPEG frames of the scene.")],
    top_k: Annotated[int, Form(description="How many similar clips to return (1-100).", ge=1, le=100)] = 3,
    similarity_threshold: Threshold = DEFAULT_THRESHOLD,
    synthesize: Synthesize = False,
    audio_length_in_s: Length = 10.0,
    collection: CollectionForm = DEFAULT_COLLECTION,
) -> ProcessFramesResponse:
    settings = services.settings
    frames = [f for f in (frames or []) if isinstance(f, StarletteUpload)]
    if not frames:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "Send 1-20 JPEG files in the `frames` field.",
                             details={"param": "frames"})
    services.sound.check_frames(len(frames))
    services.sound.require_collection(collection)
    opts = SearchOptions(collection=collection, top_k=top_k, similarity_threshold=similarity_threshold,
                         synthesize=synthesize, audio_length_in_s=audio_length_in_s)
    with Workspace(settings.tmp_dir) as ws:
        files = [InputFile(path=str(up.path), filename=up.filename) for up in
                 [await receive_upload(f, ws, settings, ("image",), field="frames", formats=("jpeg",))
                  for f in frames]]
        return await services.limiter.run(lambda stop: services.sound.process_frames(files, opts))


@router.get(
    "/health",
    summary="Health (Frame-to-Audio Similarity API)",
    description="The original health document, reporting the real state, plus `library_empty` and "
    "`library_clips` (the `default` collection /process_frames searches). The platform health is "
    "GET /api/health.",
    response_model=LegacyHealth,
)
def legacy_health(services: ServicesDep) -> LegacyHealth:
    return services.sound.legacy_health()


@router.get(
    "/",
    summary="Simple health check",
    description="A light liveness answer for API clients of the Frame-to-Audio Similarity API. A browser "
    "(an `Accept` header that rates `text/html` above `application/json`) is redirected (307) to the web "
    "studio at `/studio`.",
    response_model=LegacyRoot,
    responses={307: {"description": "To `/studio`, for browsers."}},
)
def root(request: Request) -> Any:
    if prefers_html(request.headers.get("accept")):
        return RedirectResponse("/studio", status_code=307)
    return LegacyRoot(status="ok", message="Sensorium Frame-to-Audio Similarity API is running",
                      version=__version__, docs="/docs")
