"""Settings: one object, read from the environment and `.env`, passed explicitly.

Every field is documented in `.env.example` (a test keeps the two in sync).
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MB = 1024 * 1024
#: the origins of the original Multimodal Analysis API's documentation (local web front ends)
DEFAULT_CORS_ORIGINS = ("http://localhost:3000", "http://localhost:3001")


def _split_list(value: object) -> object:
    """Accept a JSON list, or a separated string (`,` or the OS path separator)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            return json.loads(text)
        sep = "," if "," in text else ":"
        return [part.strip() for part in text.split(sep) if part.strip()]
    return value


class Settings(BaseSettings):
    """Sensorium configuration (environment variables, then `.env`, then these defaults)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False,
        protected_namespaces=(),
    )

    # --- server ---------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port.")
    workers: int = Field(1, ge=1, le=64, description="Uvicorn worker processes (each loads its own models).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="DEBUG, INFO, WARNING or ERROR."
    )
    log_dir: Path = Field(Path("logs"), description="Folder of the rotating app.log.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_CORS_ORIGINS),
        description="Origins allowed by CORS (comma separated; `*` for any, never the default; empty: no "
        "CORS headers). The default lets a local web front end on port 3000 or 3001 call the API.",
    )

    # --- access -----------------------------------------------------------------
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="API keys accepted (comma separated). Empty: no key needed. Clients send "
        "`Authorization: Bearer KEY` or `X-API-Key: KEY`. With AUTH_MODE apikey or accounts these are operator "
        "(admin) keys.",
    )
    sound_library_dir: Path | None = Field(
        None, description="Your sound-effects folder. The HTTP API may index folders inside it (besides "
        "DATA_DIR/libraries and LIBRARY_ROOTS).",
    )
    music_library_dir: Path | None = Field(
        None, description="Your music folder. The HTTP API may index folders inside it (besides "
        "DATA_DIR/libraries and LIBRARY_ROOTS).",
    )
    library_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="More folders the HTTP API may index libraries from (comma separated). The API only "
        "indexes inside DATA_DIR/libraries (created at start), SOUND_LIBRARY_DIR, MUSIC_LIBRARY_DIR and these; "
        "the CLI (`sensorium library index DIR`) may index any folder.",
    )
    rate_limit_per_minute: int = Field(
        0, ge=0, description="Requests per minute per API key (or client address); 0 = unlimited. With "
        "AUTH_MODE apikey or accounts: per user, counted in the database (holds across processes).",
    )
    auth_mode: Literal["off", "apikey", "accounts"] = Field(
        "off", description="off: one local user, no login (API_KEYS still checked when set); apikey: every "
        "API call needs a key (`sensorium keys create`, or one of API_KEYS: admin keys); accounts: apikey plus "
        "sign-up and login with browser sessions. See docs/accounts.md.",
    )
    cookie_secure: bool = Field(
        False, description="Mark the session cookie Secure (HTTPS only). Keep false for http://localhost; "
        "set true behind HTTPS.",
    )
    session_ttl_hours: float = Field(168, gt=0, description="How long a login session lasts.")
    signup_enabled: bool = Field(
        True, description="AUTH_MODE=accounts: anyone may sign up at POST /api/auth/signup (false: only "
        "`sensorium users create`).",
    )
    login_max_failures_per_account: int = Field(
        5, ge=1, description="Failed logins for one account within LOGIN_WINDOW_SECONDS before 429 RATE_LIMITED.",
    )
    login_max_failures_per_address: int = Field(
        20, ge=1, description="Failed logins from one client address within LOGIN_WINDOW_SECONDS before 429.",
    )
    login_window_seconds: float = Field(900, gt=0, description="Window of the failed-login limits.")
    quota_requests_per_day: int = Field(
        0, ge=0, description="Default API requests per user per UTC day; 0 = unlimited "
        "(per-user overrides: `sensorium users quota`).",
    )
    quota_processing_seconds_per_day: float = Field(
        0, ge=0, description="Default processing seconds (request wall time + job run time) per user per UTC "
        "day; 0 = unlimited.",
    )
    quota_upload_mb_per_day: float = Field(
        0, ge=0, description="Default request body megabytes (uploads) per user per UTC day; 0 = unlimited.",
    )

    # --- limits -----------------------------------------------------------------
    max_upload_size_mb: float = Field(100, gt=0, description="Hard cap for any single uploaded file.")
    max_image_size_mb: float = Field(10, gt=0, description="Per-image limit (JPG, PNG, WEBP, BMP, GIF).")
    max_video_size_mb: float = Field(100, gt=0, description="Per-video limit (MP4, AVI, MOV, MKV).")
    max_audio_size_mb: float = Field(50, gt=0, description="Per-audio limit (MP3, WAV, M4A, FLAC, OGG).")
    max_request_size_mb: float = Field(
        250, gt=0, description="Cap for a whole multi-file request body (batch, frames)."
    )
    max_image_pixels: int = Field(40_000_000, gt=0, description="Largest image (width x height) decoded.")
    max_media_duration_seconds: float = Field(
        3 * 3600, gt=0, description="Longest audio/video accepted."
    )
    max_concurrent_requests: int = Field(2, ge=1, description="Analyses that run at once.")
    queue_timeout_seconds: float = Field(
        30, ge=0, description="How long a request waits for a free analysis slot before 503."
    )
    request_timeout_seconds: float = Field(300, gt=0, description="Synchronous analysis time limit.")

    # --- models -----------------------------------------------------------------
    model_cache_dir: Path = Field(
        Path("~/.cache/sensorium"), description="Where assembled/downloaded weights are kept."
    )
    model_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Search path for model files (comma or colon separated), e.g. ../shared/models.",
    )
    model_paths: Annotated[dict[str, Path], NoDecode] = Field(
        default_factory=dict,
        description='Explicit weight locations per model, JSON: {"yamnet": "/models/yamnet"}.',
    )
    model_ttl_seconds: float = Field(
        900, description="Idle time before a model is unloaded; -1 never, 0 right after use."
    )
    whisper_model_size: Literal["tiny", "base", "small", "medium"] = Field(
        "tiny",
        description="Whisper size: tiny -> tiny.en for English (fast; auto-detection and other "
        "languages use base), base -> base, small -> small, medium -> medium (multilingual, slower, "
        "more accurate; get them with `sensorium models pull whisper-small` / `whisper-medium`).",
    )
    whisper_beam_size: int = Field(
        0, ge=0, le=10,
        description="Beam width; 0 = per model: greedy (1) for tiny.en, which is chosen for speed "
        "(RTF ~0.06 vs ~0.1 with 5 on 2 cores), and 5 for base.",
    )
    whisper_compute_type: str = Field("int8", description="CTranslate2 compute type on CPU.")
    whisper_cpu_threads: int = Field(0, ge=0, description="CTranslate2 threads (0 = all cores).")
    allow_downloads: bool = Field(
        False, description="Let a missing model be fetched (verified, like `sensorium models pull`) "
        "the first time it is needed. Off: only `sensorium models pull` downloads.",
    )
    model_mirror_url: str | None = Field(
        None,
        description="Plain HTTP(S) folder laid out like MODEL_CACHE_DIR (URL/yolox-nano/yolox_nano.onnx, "
        "URL/yamnet/yamnet.tflite, ...) that `sensorium models pull` downloads from instead of the "
        "publishers' sites (air-gapped sites).",
    )

    # --- storage & jobs ---------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Database, job files, vector store.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///{DATA_DIR}/sensorium.db"
    )
    vector_backend: Literal["lancedb", "pgvector"] = Field(
        "lancedb", description="Where sound and music vectors live: lancedb (DATA_DIR/vectors, embedded) or "
        "pgvector (tables in DATABASE_URL's PostgreSQL, which needs the `vector` extension; HNSW indexes).")
    auto_migrate: bool = Field(
        True, description="Upgrade the database schema (Alembic migrations) when a server, worker or CLI "
        "starts. false: run `sensorium migrate` yourself after installing a new version; until then processes "
        "refuse to start on an older schema.")
    job_workers: int = Field(1, ge=0, description="Background job threads in this process (0: none).")
    job_max_attempts: int = Field(2, ge=1, description="Runs of a job interrupted by restarts.")
    job_retention_hours: float = Field(168, gt=0, description="Finished jobs and their files kept.")
    broker_url: str | None = Field(
        None, description="redis://host:6379/0 switches jobs to Celery workers (`sensorium worker`); "
        "empty: jobs run on threads of the server process.")
    celery_visibility_timeout: float = Field(
        3600, gt=0, description="Seconds before Redis hands an unacknowledged job to another worker "
        "(a worker that died mid-job); longer than your longest job.")

    # --- optional vision/LLM endpoint (OpenAI-compatible) -----------------------
    llm_base_url: str | None = Field(None, description="e.g. http://localhost:11434/v1 (Ollama)")
    llm_model: str | None = Field(None, description="e.g. qwen2.5vl:3b or moondream")
    llm_api_key: str | None = Field(None, description="Bearer key, if the endpoint needs one.")
    llm_timeout_seconds: float = Field(60, gt=0, description="Time limit of one call to the vision endpoint.")

    # --- emotion (docs/emotion.md) ---------------------------------------------------
    emotion_timeline_step: float = Field(1.0, ge=0.1, le=60, description="Seconds between emotion timeline points.")
    emotion_face_step: float = Field(0.5, ge=0.1, le=10, description="Seconds between frames read for faces.")
    emotion_max_face_frames: int = Field(
        240, ge=1, description="Most frames read for faces per video (the step grows on longer videos).")
    emotion_max_text_chars: int = Field(
        200_000, ge=1, description="Longest text accepted by the text emotion analysis (characters).")

    @field_validator("cors_origins", "model_dirs", "api_keys", "library_roots", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("sound_library_dir", "music_library_dir", mode="before")
    @classmethod
    def _optional_dir(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("model_paths", mode="before")
    @classmethod
    def _paths(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @field_validator("model_cache_dir", "data_dir", "log_dir", "sound_library_dir", "music_library_dir",
                     mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("model_dirs", "library_roots", mode="after")
    @classmethod
    def _expand_list(cls, value: list[Path]) -> list[Path]:
        return [p.expanduser() for p in value]

    # --- derived ------------------------------------------------------------------
    @cached_property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'sensorium.db').resolve()}"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def libraries_dir(self) -> Path:
        """DATA_DIR/libraries: the folder the HTTP API may always index libraries from."""
        return self.data_dir / "libraries"

    def index_roots(self) -> dict[str, Path]:
        """The folders the HTTP API may index libraries from, by the setting that names them."""
        roots = {"DATA_DIR/libraries": self.libraries_dir}
        if self.sound_library_dir is not None:
            roots["SOUND_LIBRARY_DIR"] = self.sound_library_dir
        if self.music_library_dir is not None:
            roots["MUSIC_LIBRARY_DIR"] = self.music_library_dir
        for i, root in enumerate(self.library_roots):
            roots[f"LIBRARY_ROOTS[{i}]"] = root
        return roots

    def limit_bytes(self, kind: str) -> int:
        """Per-type limit (image/video/audio), never above MAX_UPLOAD_SIZE_MB."""
        per_kind = {
            "image": self.max_image_size_mb,
            "video": self.max_video_size_mb,
            "audio": self.max_audio_size_mb,
        }.get(kind, self.max_upload_size_mb)
        return int(min(per_kind, self.max_upload_size_mb) * MB)

    def ensure_dirs(self) -> None:
        for d in (self.data_dir, self.jobs_dir, self.tmp_dir, self.log_dir, self.model_cache_dir,
                  self.libraries_dir):
            d.mkdir(parents=True, exist_ok=True)

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
