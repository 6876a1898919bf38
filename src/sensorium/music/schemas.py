"""Request and result shapes of the music capability (API, CLI, jobs).

The `/api/recommendations/*` routes keep the documented shapes of the original AI-Powered Music
Recommendation API (`{success, task_id, message}`, `{success, data, total}`, ...), not the envelope.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

COLLECTION = "music_tracks"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
Tempo = Literal["Slow", "Medium", "Fast"]
Energy = Literal["Low", "Medium", "High"]


# --- requests -----------------------------------------------------------------------------------
class InitializeRequest(BaseModel):
    max_videos: int | None = Field(None, ge=1, le=1_000_000, description="How many tracks to index at most "
                                   "(the name is the original API's: it pulled YouTube videos). Default: all.")
    folder: str | None = Field(None, max_length=4096, description="Music folder to index, inside the library "
                               "roots (MUSIC_LIBRARY_DIR, DATA_DIR/libraries, LIBRARY_ROOTS; a relative path is "
                               "taken inside MUSIC_LIBRARY_DIR when set). Default: MUSIC_LIBRARY_DIR.")


class TextRequest(BaseModel):
    query: str = Field(..., min_length=1, max_length=1000, description="What the music should be, e.g. "
                       '"fast energetic electronic" or "calm piano for a rainy scene".')
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="How many tracks to return (1-100).")


class PreviewRequest(BaseModel):
    task_id: str = Field(..., max_length=64, description="The analyze-video job whose video to use.")
    track_id: str = Field(..., max_length=64, description="The track (`id` of a recommended song).")
    offset: float | None = Field(None, ge=0, le=86_400, description="Start offset in the track (s); default: the "
                                 "song's `start_offset` from the analysis (or the best alignment).")
    duck_db: float = Field(-12.0, ge=-40, le=0, description="Music level under speech, dB.")


# --- answers ------------------------------------------------------------------------------------
class Thumbnail(BaseModel):
    url: str = Field(..., description="Where to get the artwork (GET /api/library/music/{id}/artwork).")
    width: int
    height: int


class Song(BaseModel):
    id: str = Field(..., description="Track id (GET /api/library/music/{id}/audio streams it).")
    title: str
    artists: list[str]
    album: str | None
    duration: str = Field(..., description='"m:ss" (or "h:mm:ss").')
    videoId: str | None = Field(None, description="Always null for local files (the original API's YouTube id).")
    thumbnails: list[Thumbnail] = Field(default_factory=list, description="Embedded artwork, when the file has it.")
    score: float = Field(..., description="Ranking score, 0-1 (see docs/music.md).")
    why: str = Field(..., description="Which signals matched which track features.")
    tempo_bpm: float | None = None
    key: str | None = Field(None, description='Key and mode, e.g. "A minor".')
    energy: float | None = Field(None, description="Track energy 0-1.")
    audio_url: str | None = None
    start_offset: float | None = Field(None, description="analyze-video only: where to start the track (s) so its "
                                       "strong beats fall on the video's cuts.")
    alignment_score: float | None = Field(None, description="analyze-video only: share of cuts on a strong beat "
                                          "(within 60 ms, weighted by beat strength), 0-1; null without cuts.")
    alignment: str | None = Field(None, description="analyze-video only: how well the offset fits, in words.")


class Recommendations(BaseModel):
    success: bool = True
    data: list[Song]
    total: int


class TaskAccepted(BaseModel):
    success: bool = True
    task_id: str = Field(..., description="The job id: poll GET /api/jobs/{task_id}.")
    message: str


class StatsData(BaseModel):
    collection_name: str
    vectors_count: int = Field(..., description="Tracks with a stored embedding.")
    points_count: int = Field(..., description="Tracks in the collection.")
    status: str = Field(..., description="green (indexed), empty (nothing indexed yet), indexing (a job runs).")
    last_index: dict | None = Field(None, description="Summary of the last indexing run.")


class Stats(BaseModel):
    success: bool = True
    data: StatsData


class IndexFailure(BaseModel):
    path: str
    error: str


class IndexSummary(BaseModel):
    folder: str
    files_seen: int = 0
    indexed: int = 0
    reindexed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped_by_limit: int = 0
    failed: list[IndexFailure] = Field(default_factory=list)
    total: int = 0
    seconds: float = 0.0
    tracks_per_minute: float | None = None


class VideoSignals(BaseModel):
    """What was measured on the video (the inputs of the rule set)."""

    duration: float
    cuts: list[float] = Field(..., description="Scene-change times (s).")
    cuts_per_minute: float
    motion: float = Field(..., description="Median frame-to-frame brightness change (0-255 per 1/30 s).")
    brightness: float = Field(..., description="Mean luma of sampled frames, 0-1.")
    colorfulness: float = Field(..., description="Hasler-Susstrunk colourfulness of sampled frames (0-~150).")
    objects: dict[str, int] = Field(default_factory=dict, description="Objects seen (most frames' counts).")
    people: int = 0
    expressions: dict[str, int] = Field(default_factory=dict, description="Facial expressions seen.")
    audio_loudness_lufs: float | None = None
    audio_tempo: float | None = Field(None, description="Tempo of the video's own audio when it holds music.")
    music_score: float | None = Field(None, description="YAMNet music score of the video's audio.")
    speech_ratio: float = Field(0.0, description="Share of the audio where YAMNet hears speech.")
    speech_spans: list[list[float]] = Field(default_factory=list, description="[start, end] of speech (s).")
    transcript: str | None = None
    sentiment: float | None = Field(None, description="VADER compound score of the transcript, -1..1.")


class VideoMusicAnalysis(BaseModel):
    description: str
    music_recommendation: str
    keywords: list[str]
    mood: str
    genre_suggestions: list[str]
    tempo: Tempo
    energy_level: Energy
    energy_score: float = Field(..., description="The rule set's energy, 0-1.")
    valence: float = Field(..., description="The rule set's valence (-1 dark/sad .. 1 bright/happy).")
    rules: list[str] = Field(default_factory=list, description="Which rules fired.")
    signals: VideoSignals


class VideoRecommendation(BaseModel):
    analysis: VideoMusicAnalysis
    songs: list[Song]


class TrackFile(BaseModel):
    path: str
    media_type: str
    filename: str
