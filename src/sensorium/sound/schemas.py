"""Sound results and requests, shared by the API, the CLI and jobs.

The JSON they produce is the documented contract (docs/sound.md): field names, and which fields are
present in which search mode, are kept exactly. A field typed `... | MISSING` is left out of the JSON
when unset (it belongs to another search mode).
"""

from __future__ import annotations

from typing import Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field

DEFAULT_COLLECTION = "default"
DEFAULT_MAX_SECONDS = 120.0
DEFAULT_TOP_K = 10
DEFAULT_THRESHOLD = 0.3
MAX_FRAMES = 20

SearchMode = Literal["query", "audio", "frames", "video"]


# --- labels -------------------------------------------------------------------------------------
class LabelScore(BaseModel):
    label: str = Field(..., description="AudioSet class name.")
    score: float = Field(..., description="Its pooled YAMNet score in the clip, 0-1.")


class LabelWeight(BaseModel):
    label: str = Field(..., description="AudioSet class the text was mapped to.")
    weight: float = Field(..., description="Its share of the query (the weights sum to about 1).")


class MatchedLabel(BaseModel):
    label: str = Field(..., description="AudioSet class heard in the clip that the query asked for.")
    score: float = Field(..., description="The clip's YAMNet score for it, 0-1.")
    query_weight: float | MISSING = Field(MISSING, description="Its weight in the query (text and frames "
                                          "searches).")


# --- library ------------------------------------------------------------------------------------
class ClipMetadata(BaseModel):
    duration: float | None = Field(None, description="Length in seconds (the whole file).")
    orig_sr: int | None = Field(None, description="The file's sample rate (Hz).")
    channels: int | None = Field(None, description="The file's channel count.")
    format: str | None = Field(None, description="Container/codec family recognised from the bytes.")


class SearchResult(BaseModel):
    id: str = Field(..., description="Clip id (stable for a path inside the collection).")
    fname: str | None = Field(None, description="File name.")
    path: str | None = Field(None, description="Path relative to the indexed folder.")
    similarity: float = Field(..., description="Higher is closer (0-1 for text; see the method).")
    distance: float = Field(..., description="1 - similarity.")
    split: str = Field("", description="Split from a metadata table, else the parent folder's name.")
    metadata: ClipMetadata
    caption: str | None = Field(None, description="Caption from a sidecar table, if any.")
    labels: list[str] = Field(default_factory=list, description="Labels/tags from sidecar tables.")
    top_labels: list[LabelScore] = Field(default_factory=list, description="The clip's 5 strongest AudioSet "
                                         "classes.")
    matched_labels: list[MatchedLabel] = Field(default_factory=list, description="Classes both asked for and "
                                               "heard.")
    reason: str = Field(..., description="Why the clip matched, in words.")
    scores: dict[str, float] = Field(default_factory=dict, description="The components of the similarity.")
    audio_url: str = Field(..., description="Streams the original file (HTTP Range supported).")


class SoundscapeLayer(BaseModel):
    fname: str | None = Field(None, description="The clip mixed in.")
    id: str | None = Field(None, description="Its clip id.")
    gain_db: float = Field(..., description="Its gain in the mix (dB).")


class Soundscape(BaseModel):
    file: str = Field(..., description="The WAV's file name.")
    duration: float = Field(..., description="Seconds.")
    sample_rate: int = Field(..., description="Hz (44100).")
    channels: int = Field(..., description="2 (stereo).")
    layers: list[SoundscapeLayer] = Field(..., description="The clips mixed, loudest first.")
    method: str = Field("mix", description="`mix`: layered library clips (no generative model).")
    job_id: str = Field(..., description="The soundscape's id (the name is kept for older clients; a "
                        "soundscape is a stored file, not a job).")
    audio_url: str = Field(..., description="Where to download the WAV (kept for JOB_RETENTION_HOURS).")


class SoundPhrase(BaseModel):
    phrase: str
    weight: float


class Motion(BaseModel):
    frame_difference: float | None = Field(None, description="Mean absolute difference of small grayscale "
                                           "frames (null for one frame).")
    level: str = Field("unknown", description="`static`, `some movement`, `fast movement` or `unknown`.")
    moving: list[str] = Field(default_factory=list, description="Object labels whose largest box moved.")


class VisualSummary(BaseModel):
    objects: dict[str, int] = Field(..., description="Object label -> largest count in one frame, most "
                                    "salient first.")
    people: int = Field(..., description="Most people seen in one frame.")
    motion: Motion
    brightness: float | None = Field(None, description="Mean brightness 0-1.")


class FrameDescription(BaseModel):
    """What a set of frames should sound like (before searching)."""

    audio_description: str
    description_source: Literal["findings", "llm"]
    sound_phrases: list[SoundPhrase]
    visual_summary: VisualSummary
    notes: list[str] = Field(default_factory=list)


class SoundSearch(BaseModel):
    """The `sound_search` result; fields of other modes are absent."""

    mode: Literal["text", "audio", "frames"] = Field(..., description="`text`, `audio` or `frames` (also "
                                                     "for a video).")
    query: str | MISSING = Field(MISSING, description="The text searched (for frames: the audio description).")
    label_profile: list[LabelWeight] | MISSING = Field(MISSING, description="AudioSet classes the text was mapped to.")
    query_labels: list[LabelScore] | MISSING = Field(MISSING, description="The example's strongest classes (audio).")
    results: list[SearchResult] = Field(..., description="Ranked clips, best first.")
    total_results: int = Field(..., description="How many results are returned.")
    collection: str = Field(..., description="The collection searched.")
    audio_description: str | MISSING = Field(MISSING, description="What the scene should sound like (frames/video).")
    description_source: Literal["findings", "llm"] | MISSING = Field(MISSING, description="Who wrote the description.")
    sound_phrases: list[SoundPhrase] | MISSING = Field(MISSING, description="Weighted phrases searched (frames/video).")
    visual_summary: VisualSummary | MISSING = Field(MISSING, description="Merged findings of the frames.")
    notes: list[str] | MISSING = Field(MISSING, description="Fallbacks taken (frames/video).")
    num_frames: int | MISSING = Field(MISSING, description="Frames analysed (frames/video).")
    filename: str | MISSING = Field(MISSING, description="The uploaded file's name (audio/video).")
    frame_filenames: list[str] | MISSING = Field(MISSING, description="The uploaded frames' names (frames).")
    soundscape: Soundscape | MISSING = Field(MISSING, description="With synthesize=true: the mix of the top matches.")
    model: str = Field("", description="Models used (in `metadata.model`).", exclude=True)


class SearchOptions(BaseModel):
    collection: str = DEFAULT_COLLECTION
    top_k: int = DEFAULT_TOP_K
    similarity_threshold: float = DEFAULT_THRESHOLD
    synthesize: bool = False
    audio_length_in_s: float = 10.0


class InputFile(BaseModel):
    """An uploaded file the service reads (stored by the API in a temporary workspace)."""

    path: str
    filename: str


# --- indexing -----------------------------------------------------------------------------------
class IndexRequest(BaseModel):
    directory: str = Field(..., description="Folder on the server to index recursively (WAV, FLAC, MP3, "
                           "OGG, M4A recognized by content), inside a library root: DATA_DIR/libraries (a "
                           "relative path is taken there), SOUND_LIBRARY_DIR, MUSIC_LIBRARY_DIR or LIBRARY_ROOTS. "
                           "Sidecar `*.csv` / `*.json` tables with a `fname`/`filename` column give captions, "
                           "labels and splits.", examples=["sfx"], max_length=4096)
    name: str = Field(DEFAULT_COLLECTION, description="Collection name (1-64 letters, digits, `_`, `-`). "
                      "Re-indexing the same name is incremental.", max_length=64)
    max_seconds: float = Field(DEFAULT_MAX_SECONDS, gt=0, le=3600,
                               description="Only the first N seconds of each file are analysed.")
    sfx_embeddings: bool = Field(True, description="Compute aiSFX sound-effect embeddings (better "
                                 "audio-example search; ~5x slower indexing on CPU). False: YAMNet only.")


class IndexFailure(BaseModel):
    path: str = Field(..., description="Path relative to the folder.")
    code: str = Field(..., description="Error code, e.g. PROCESSING_FAILED.")
    error: str = Field(..., description="What went wrong.")


class MetadataError(BaseModel):
    path: str
    error: str


class CollectionStats(BaseModel):
    clips: int = Field(..., description="Clips in the collection.")
    total_duration: float = Field(..., description="Sum of the clips' durations (s).")
    splits: dict[str, int] = Field(..., description="Clips per split.")
    formats: dict[str, int] = Field(..., description="Clips per format.")


class IndexCounts(BaseModel):
    collection: str = Field(..., description="Collection name.")
    root: str = Field(..., description="The folder indexed: relative to its library root in API results "
                      "(`.` for the root itself), resolved in the CLI's.")
    files_seen: int = Field(0, description="Sound files found.")
    indexed: int = Field(0, description="New files analysed.")
    reindexed: int = Field(0, description="Changed files analysed again.")
    updated: int = Field(0, description="Facts or sidecar metadata refreshed without analysis.")
    unchanged: int = Field(0, description="Skipped: same size and mtime.")
    removed: int = Field(0, description="Rows of files that disappeared.")


class IndexSummary(IndexCounts):
    """The `sound_library_index` result."""

    failed: list[IndexFailure] = Field(default_factory=list, description="Files skipped, with the reason.")
    ignored_files: int = Field(0, description="Files that are neither sound nor metadata.")
    metadata_sources: list[str] = Field(default_factory=list, description="Sidecar tables that named files.")
    metadata_errors: list[MetadataError] = Field(default_factory=list, description="Unreadable sidecars.")
    total: int = Field(0, description="Clips in the collection after the run.")
    stats: CollectionStats | None = None
    seconds: float = Field(0.0, description="Wall time of the run.")
    clips_per_second: float | None = Field(None, description="Analysed files per second.")


class LastIndex(IndexCounts):
    """The counts of a collection's last indexing run (`failed` is a count here)."""

    model_config = ConfigDict(extra="allow")

    failed: int = Field(0, description="Files skipped.")
    ignored_files: int = 0
    metadata_sources: list[str] = Field(default_factory=list)
    metadata_errors: list[MetadataError] = Field(default_factory=list)


class Collection(CollectionStats):
    name: str = Field(..., description="Collection name.")
    root: str | None = Field(None, description="The folder it was indexed from.")
    created_at: str | None = None
    updated_at: str | None = None
    last_index: LastIndex | None = Field(None, description="Summary of the last indexing run.")


class CollectionList(BaseModel):
    collections: list[Collection]
    total: int


class CollectionDeleted(BaseModel):
    name: str
    deleted: bool


class StoredFile(BaseModel):
    """A file the API streams: where it is, its content type and download name."""

    path: str
    media_type: str
    filename: str


# --- the Frame-to-Audio Similarity API (legacy contract) ---------------------------------------------
class LegacyClipMetadata(BaseModel):
    duration: float | None = Field(None, description="Clip length in seconds.")
    orig_sr: int | None = Field(None, description="The file's original sample rate (Hz).")


class LegacyClip(BaseModel):
    fname: str = Field(..., description="File name of the library clip.")
    similarity: float = Field(..., description="0-1, higher is closer.")
    distance: float = Field(..., description="1 - similarity.")
    split: str = Field(..., description="The clip's split (metadata table, else its parent folder).")
    metadata: LegacyClipMetadata


class LegacySoundscape(Soundscape):
    audio_base64: str = Field(..., description="The WAV file, base64-encoded.")


class ProcessFramesResponse(BaseModel):
    frame_filenames: list[str] = Field(..., description="The uploaded frames' (sanitized) names, in order.")
    num_frames: int
    audio_description: str = Field(..., description="What the scene should sound like.")
    similar_clips: list[LegacyClip]
    total_results: int
    generated_audio: LegacySoundscape | None = Field(
        None, description="With synthesize=true: the mixed soundscape (`audio_url`, `duration`, "
        "`sample_rate`, `layers`, and the WAV as `audio_base64`).")


class LegacyModelState(BaseModel):
    installed: bool
    loaded: bool


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
    models: dict[str, LegacyModelState] = Field(..., description="Per model: installed and currently loaded.")
    library_empty: bool = Field(..., description="True when the `default` collection that /process_frames "
                                "searches has no clip: index one first (`sensorium library index DIR --name "
                                "default` on the server, or POST /api/library/sounds/index).")
    library_clips: int = Field(..., description="Clips in the `default` collection.")


class LegacyRoot(BaseModel):
    status: str = Field(..., description="`ok`.")
    message: str
    version: str
    docs: str = Field(..., description="Where the API documentation is.")
