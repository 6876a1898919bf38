"""The FastAPI application factory."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sensorium import __version__
from sensorium.api.access import AuthMiddleware
from sensorium.api.middleware import (
    AccessMiddleware,
    BodyLimitMiddleware,
    RequestContextMiddleware,
    openai_or_envelope,
)
from sensorium.config import MB, Settings
from sensorium.errors import ErrorCode, SensoriumError, storage_full
from sensorium.logs import setup_logging
from sensorium.services import Services, build_services
from sensorium.web import create_router as create_studio_router

log = logging.getLogger(__name__)

#: Body limits by path prefix: the media kind whose limit applies (+1 MB of multipart overhead).
#: Paths not listed get MAX_REQUEST_SIZE_MB (multi-file requests).
BODY_LIMIT_PREFIXES: list[tuple[str, str]] = [
    ("/api/analyze/audio", "audio"),
    ("/v1/audio/", "audio"),
    ("/api/analyze/image", "image"),
    ("/api/analyze/video", "video"),
    ("/api/upload-video", "video"),
]

TAGS = [
    {"name": "audio", "description": "Speech transcription and language identification (Whisper)."},
    {"name": "openai", "description": "OpenAI-compatible endpoints (errors in OpenAI's shape)."},
    {"name": "visual", "description": "Image, video and batch analysis from detectors (objects, people, faces, "
     "pose, text, colors, quality, NSFW) and, when configured, an OpenAI-compatible vision endpoint."},
    {"name": "sound", "description": "Index a sound-effects library; search it by text, example audio, frames or "
                               "video; the Frame-to-Audio Similarity API's paths."},
    {"name": "emotion", "description": "Emotion (7) and sentiment (3) per utterance of a text, a recording or a "
     "video, from the words, the faces and the voice (the Video Sentiment Analysis contract)."},
    {"name": "foley", "description": "Footstep detection and synchronized footstep foley (AI Foley Studio contract)."},
    {"name": "jobs", "description": "Durable background jobs: list, poll, cancel, follow progress (SSE)."},
    {"name": "accounts", "description": "Sign-up, login (sessions with CSRF tokens), API keys, usage and quotas "
     "(AUTH_MODE apikey or accounts; docs/accounts.md)."},
    {"name": "system", "description": "Health, capabilities, models, metrics."},
]

DESCRIPTION = """
Sensorium understands images, video and audio and scores video with sound, offline on a CPU.

**Envelope.** Every JSON endpoint answers
`{"success": true, "data": {"type", "result", "metadata": {"processing_time_ms", "model", ...}}, "timestamp"}`
or `{"success": false, "error": {"code", "message"}, "timestamp"}`. Paths under `/v1/` follow OpenAI's
conventions instead (including its error shape).

**Uploads** are typed by their content (magic bytes and a container probe), never by name or
Content-Type. Limits: images 10 MB, video 100 MB, audio 50 MB (and MAX_UPLOAD_SIZE_MB), enforced while
the body streams in.

**Access.** AUTH_MODE=off (default): no login; when API_KEYS is set, send `Authorization: Bearer KEY` or
`X-API-Key: KEY` (health, docs and metrics stay open). AUTH_MODE=apikey: every call needs a key (a user's
`sk-...` key, or one of API_KEYS, which act as admin keys). AUTH_MODE=accounts: keys, or a login session
(cookie) whose POST/PUT/PATCH/DELETE requests carry `X-CSRF-Token`. Quotas per user per UTC day and
RATE_LIMIT_PER_MINUTE are then counted in the database (429 RATE_LIMITED or QUOTA_EXCEEDED with
Retry-After), and users see only their own jobs and tasks (others' answer 404).

**Error codes**: INVALID_FILE_TYPE (415), FILE_TOO_LARGE (413), PROCESSING_FAILED (422/500),
MODEL_NOT_LOADED (503), TIMEOUT (504), OUT_OF_MEMORY (507), SERVICE_UNAVAILABLE (503 + Retry-After),
VALIDATION_ERROR (422, 405 for a wrong method; also a malformed body, e.g. a broken multipart form or JSON),
NOT_FOUND (404), UNAUTHORIZED (401), RATE_LIMITED (429), QUOTA_EXCEEDED (429), STORAGE_FULL (507: the
data folder or the upload spool is full; nothing was kept). Under `/v1/`, VALIDATION_ERROR
answers 400 as OpenAI does.

**CORS.** CORS_ORIGINS (default `http://localhost:3000,http://localhost:3001`) lists the browser origins
allowed to call the API.
"""


def _limit_for(settings: Settings):
    default = int(settings.max_request_size_mb * MB)

    def limit_for(path: str) -> int:
        for prefix, kind in BODY_LIMIT_PREFIXES:
            if path.startswith(prefix):
                return settings.limit_bytes(kind) + MB
        return default

    return limit_for


def _error_response(request: Request, exc: SensoriumError) -> JSONResponse:
    status = exc.status
    if request.url.path.startswith("/v1/") and exc.code is ErrorCode.VALIDATION_ERROR and status == 422:
        status = 400  # OpenAI answers invalid requests with 400
    return JSONResponse(openai_or_envelope(request.url.path, exc), status_code=status, headers=exc.headers or None)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SensoriumError)
    async def _sensorium(request: Request, exc: SensoriumError) -> JSONResponse:
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
            problems.append({"field": loc, "problem": err.get("msg")})
        first = problems[0] if problems else {"field": "?", "problem": "invalid"}
        message = f"Invalid request: {first['field']}: {first['problem']}"
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more)"
        return _error_response(request, SensoriumError(
            ErrorCode.VALIDATION_ERROR, message, details={"errors": problems, "param": first["field"]}))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            err = SensoriumError(ErrorCode.NOT_FOUND,
                                 f"No route {request.method} {request.url.path}." if exc.detail == "Not Found"
                                 else str(exc.detail))
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            err = SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 f"Method {request.method} is not allowed on {request.url.path}"
                                 + (f"; allowed: {allowed}." if allowed else "."),
                                 status=405, headers={"Allow": allowed} if allowed else None)
        elif exc.status_code == 413:
            err = SensoriumError(ErrorCode.FILE_TOO_LARGE, str(exc.detail))
        elif exc.status_code in (400, 422):  # e.g. a broken multipart body: 422 (400 under /v1/)
            # ... unless the body could not be spooled to disk (a full TMPDIR): that is STORAGE_FULL
            err = storage_full(exc) or SensoriumError(ErrorCode.VALIDATION_ERROR,
                                                      f"Malformed request body: {exc.detail}")
        elif exc.status_code == 401:
            err = SensoriumError(ErrorCode.UNAUTHORIZED, str(exc.detail))
        elif exc.status_code == 429:
            err = SensoriumError(ErrorCode.RATE_LIMITED, str(exc.detail))
        else:
            err = SensoriumError(ErrorCode.PROCESSING_FAILED, str(exc.detail), status=exc.status_code)
        return _error_response(request, err)

    @app.exception_handler(MemoryError)
    async def _oom(request: Request, exc: MemoryError) -> JSONResponse:
        return _error_response(request, SensoriumError(ErrorCode.OUT_OF_MEMORY, "Out of memory."))
    # Unexpected exceptions are answered by RequestContextMiddleware (500, logged once, connection kept):
    # an `Exception` handler here would run in Starlette's ServerErrorMiddleware, which re-raises.


def document_access_errors(router: APIRouter) -> None:
    """Every guarded route can answer 401/403 (key, session, CSRF) and 429 (rate limit, quota) from the
    access middleware, before the route runs: say so in each operation (errors as JSON, whatever the
    route's own media type)."""
    from fastapi.routing import APIRoute

    from sensorium.api.access import STATE_CHANGING, is_guarded
    from sensorium.api.envelope import json_error_responses

    access = json_error_responses(ErrorCode.UNAUTHORIZED, ErrorCode.RATE_LIMITED, ErrorCode.QUOTA_EXCEEDED)
    forbidden = {**access[401], "description": "`UNAUTHORIZED`: a session request that changes something "
                 "without its `X-CSRF-Token`."}
    for route in router.routes:
        if not isinstance(route, APIRoute) or not any(is_guarded(m, route.path) for m in route.methods):
            continue
        route.responses = dict(route.responses)  # never mutate a dict routes may share (foley's NOT_FOUND)
        openai = route.path.startswith("/v1/")  # OpenAI's error shape, described like OPENAI_ERRORS
        for status, entry in ((*access.items(), (403, forbidden)) if route.methods & STATE_CHANGING
                              else access.items()):
            route.responses.setdefault(status, {"description": entry["description"]} if openai else entry)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app. `services` may be given (tests, CLI); otherwise built from `settings` at start-up."""
    settings = services.settings if services is not None else (settings or Settings())
    setup_logging(settings.log_level, settings.log_dir)
    own_services = services is None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        svc = app.state.services
        if svc is None:
            svc = build_services(settings)
            app.state.services = svc
        if own_services or not getattr(svc, "_started", False):
            svc.start()
            svc._started = True  # type: ignore[attr-defined]
        log.info("Sensorium %s ready (data=%s, db=%s)", __version__, settings.data_dir, settings.db_url)
        try:
            yield
        finally:
            if own_services:
                svc.close()

    app = FastAPI(
        title="Sensorium",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)

    from sensorium.api.routes import ROUTERS

    for router in ROUTERS():
        document_access_errors(router)
        app.include_router(router)
    app.include_router(create_studio_router())  # the web studio's pages (not in the OpenAPI docs)

    app.add_middleware(BodyLimitMiddleware, limit_for=_limit_for(settings))
    if settings.auth_mode != "off":  # keys, sessions, quotas in the database (docs/accounts.md)
        app.add_middleware(AuthMiddleware, settings=settings)
    elif settings.api_keys or settings.rate_limit_per_minute:
        app.add_middleware(AccessMiddleware, keys=settings.api_keys, per_minute=settings.rate_limit_per_minute)
    app.add_middleware(RequestContextMiddleware)
    if settings.cors_origins:  # outermost: errors, 401s and 413s carry the CORS headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    return app


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory sensorium.api.app:app_factory` (settings from the env)."""
    return create_app(Settings())

