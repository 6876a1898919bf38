"""Music matching: the documented contract of the AI-Powered Music Recommendation API
(`/api/recommendations/*`, its own shapes: `{success, task_id, message}`, `{success, data, total}`,
`{success, data}`), the track files (`/api/library/music/{id}/audio|artwork`) and the preview render.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from sensorium.api.deps import ServicesDep
from sensorium.api.envelope import UPLOAD_ERRORS, error_responses
from sensorium.api.uploads import receive_upload
from sensorium.errors import ErrorCode
from sensorium.jobs.schemas import JobRecord
from sensorium.music.schemas import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    InitializeRequest,
    PreviewRequest,
    Recommendations,
    Stats,
    TaskAccepted,
    TextRequest,
    TrackFile,
)
from sensorium.store.files import Workspace

router = APIRouter(tags=["music"])
TrackId = Annotated[str, Path(description="Track id (`id` of a recommended song).", max_length=64)]


def _task(job: JobRecord, message: str) -> JSONResponse:
    body = TaskAccepted(task_id=job.id, message=f"{message} Poll GET /api/jobs/{job.id} for progress and the result.")
    return JSONResponse(body.model_dump(), status_code=202)


def _stream(f: TrackFile) -> FileResponse:
    return FileResponse(f.path, media_type=f.media_type, filename=f.filename, content_disposition_type="inline")


@router.post(
    "/api/recommendations/initialize-database",
    status_code=202,
    summary="Index the music library (background job)",
    description=(
        "Queues a `music.index` job that scans the music folder recursively (MP3, FLAC, OGG/Opus, M4A/AAC, WAV, "
        "AIFF) and stores per track: tags (title, artists, album, duration, artwork), tempo and beat grid, key and "
        "mode, loudness/energy, brightness, onset density, the YAMNet music profile (genres, moods, instruments), "
        "a text description and its MiniLM embedding. Incremental: unchanged files are skipped; unreadable files "
        "are listed in the job result's `failed`. `max_videos` caps the number of tracks (the original API's "
        "name); `folder` (default MUSIC_LIBRARY_DIR) must lie inside the library roots. Poll `/api/jobs/{task_id}`."
    ),
    response_model=TaskAccepted,
    responses=error_responses(ErrorCode.VALIDATION_ERROR),
)
def initialize_database(services: ServicesDep, body: InitializeRequest | None = None) -> JSONResponse:
    job = services.music.submit_initialize(body or InitializeRequest())
    return _task(job, "Indexing the music library.")


@router.get(
    "/api/recommendations/database-stats",
    summary="Music library statistics",
    description="`collection_name`, `vectors_count` and `points_count` (indexed tracks) and `status`: `green` "
    "(indexed), `empty` (nothing indexed yet) or `indexing` (an indexing job is queued or running).",
    response_model=Stats,
)
def database_stats(services: ServicesDep) -> Stats:
    return Stats(data=services.music.stats())


@router.post(
    "/api/recommendations/text-recommendations",
    summary="Tracks for a text",
    description=(
        "Ranks the library for `query`: MiniLM similarity between the query and each track's description, "
        "combined with a match of tempo, energy, mode and brightness when the query names them (\"fast\", "
        "\"calm\", \"dark\", \"120 bpm\"...). Every song says `why`. An empty library answers `data: []`."
    ),
    response_model=Recommendations,
    responses=error_responses(ErrorCode.VALIDATION_ERROR, ErrorCode.MODEL_NOT_LOADED, ErrorCode.TIMEOUT,
                              ErrorCode.SERVICE_UNAVAILABLE),
)
async def text_recommendations(body: TextRequest, services: ServicesDep) -> Recommendations:
    songs = await services.limiter.run(lambda stop: services.music.recommend_text(body.query, body.limit))
    return Recommendations(data=songs, total=len(songs))


@router.post(
    "/api/recommendations/analyze-video",
    status_code=202,
    summary="Tracks for a video (background job)",
    description=(
        "Queues a `music.video` job: cuts and motion over every frame, brightness, colourfulness, objects, people "
        "and expressions in sampled frames, the video's own audio (loudness, music tempo, speech and its "
        "sentiment) are mapped by a documented rule set to mood, energy and tempo; the job result holds "
        "`analysis` {description, music_recommendation, keywords, mood, genre_suggestions, tempo, energy_level, "
        "...} and `songs` (each with `why`, a `start_offset` that puts strong beats on the cuts and its "
        "`alignment_score`). Poll `/api/jobs/{task_id}`."
    ),
    response_model=TaskAccepted,
    responses=error_responses(*UPLOAD_ERRORS),
)
async def analyze_video(
    services: ServicesDep,
    video: Annotated[UploadFile, File(description="The video (MP4, MOV, MKV, WebM, AVI).")],
    limit: Annotated[int, Form(description="How many tracks to recommend (1-100).", ge=1,
                               le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> JSONResponse:
    settings = services.settings
    with Workspace(settings.tmp_dir) as ws:
        up = await receive_upload(video, ws, settings, ("video",), field="video")
        services.music.check_video(up.path)
        job = services.music.submit_video(up.path, up.filename, limit)
    return _task(job, "Analysing the video for music.")


@router.post(
    "/api/recommendations/preview",
    status_code=202,
    summary="Render a preview: the analysed video with a track (background job)",
    description="Queues a `music.preview` job: the track from `offset` (default: the song's `start_offset`) is "
    "mixed under the video's own audio, ducked by `duck_db` while someone speaks, and muxed (video copied). "
    "The job result's `url` downloads the MP4 (`/api/jobs/{id}/files/preview.mp4`).",
    response_model=TaskAccepted,
    responses=error_responses(ErrorCode.VALIDATION_ERROR, ErrorCode.NOT_FOUND),
)
def preview(body: PreviewRequest, services: ServicesDep) -> JSONResponse:
    return _task(services.music.submit_preview(body), "Rendering the preview.")


@router.get(
    "/api/library/music/{track_id}/audio",
    summary="Stream a track",
    description="The original audio file of an indexed track. Supports HTTP Range requests (206 Partial Content).",
    response_class=FileResponse,
    responses={200: {"description": "The audio file.", "content": {"audio/*": {}}},
               206: {"description": "The requested byte range."},
               **error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR)},
)
def track_audio(track_id: TrackId, services: ServicesDep) -> FileResponse:
    return _stream(services.music.track_file(track_id))


@router.get(
    "/api/library/music/{track_id}/artwork",
    summary="A track's artwork",
    description="The embedded artwork as a JPEG thumbnail (at most 300 px); 404 when the file has none.",
    response_class=FileResponse,
    responses={200: {"description": "JPEG image.", "content": {"image/jpeg": {}}},
               **error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR)},
)
def track_artwork(track_id: TrackId, services: ServicesDep) -> FileResponse:
    return _stream(services.music.artwork_file(track_id))
