"""The sound workflows: index a library, list/delete collections, stream a clip, search by text, by
audio example, by frames or a video, mix a soundscape, and the Frame-to-Audio contract.

Routes, the CLI and jobs call these methods; the pure algorithms are in `library.py`/`indexer.py`
(rows and the indexing run), `text_query.py`/`search.py` (scoring), `frames.py` (frames -> words)
and `soundscape.py` (mixing). The vector store is the one `Services` built (injected). Job kind:
`library.sounds.index`. Soundscapes are files of this service under `DATA_DIR/soundscapes/{id}/`.
"""

from __future__ import annotations

import base64
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.jobs.schemas import JobRecord
from sensorium.jobs.service import JobContext, JobService
from sensorium.media.audio import wav_bytes
from sensorium.media.image import decode_image
from sensorium.media.scenes import sample_frames
from sensorium.media.sniff import MIME, sniff_file
from sensorium.models.aisfx import AISFX
from sensorium.models.registry import ModelRegistry
from sensorium.models.text_embedding import MINILM
from sensorium.models.yamnet import YAMNET
from sensorium.models.yolox import YOLOX_NANO
from sensorium.sound import frames as frame_words
from sensorium.sound import roots
from sensorium.sound import search as scoring
from sensorium.sound.indexer import Progress, index_library
from sensorium.sound.library import collection_names, collection_stats, features_from_wave, load_head, table_name
from sensorium.sound.schemas import (
    DEFAULT_COLLECTION,
    DEFAULT_MAX_SECONDS,
    DEFAULT_THRESHOLD,
    DEFAULT_TOP_K,
    Collection,
    CollectionDeleted,
    CollectionList,
    FrameDescription,
    IndexRequest,
    IndexSummary,
    InputFile,
    LastIndex,
    LegacyClip,
    LegacyClipMetadata,
    LegacyHealth,
    LegacyModelState,
    LegacySoundscape,
    ProcessFramesResponse,
    SearchMode,
    SearchOptions,
    SearchResult,
    Soundscape,
    SoundSearch,
    StoredFile,
)
from sensorium.sound.soundscape import MAX_LAYERS, SoundscapeClip, mix_clips
from sensorium.sound.soundscape import SR as MIX_SR
from sensorium.sound.text_query import LabelSpace, WordIndex, build_label_space, build_word_index, word_index_stamp
from sensorium.store.files import write_atomic
from sensorium.store.vectors import VectorStore
from sensorium.vision.service import VisionService

JOB_KIND = "library.sounds.index"
VIDEO_FRAMES = 8  # frames sampled from a video
FRAME_SIDE = 1280  # frames are decoded at most this large
CLIP_URL = "/api/library/sounds/{collection}/{clip_id}/audio"
SOUNDSCAPE_URL = "/api/sound/soundscapes/{soundscape_id}/audio"
SOUNDSCAPE_FILE = "soundscape.wav"
#: the models a search mode uses (`metadata.model`); frames also use the vision capability's detector
SEARCH_MODELS = {"text": (MINILM, YAMNET), "audio": (YAMNET, AISFX), "frames": (YOLOX_NANO, MINILM, YAMNET)}
#: the models the Frame-to-Audio contract needs (GET /health)
FRAMES_MODELS = (YOLOX_NANO, YAMNET, MINILM)
Check = Callable[[], None]


class SoundService:
    def __init__(self, settings: Settings, registry: ModelRegistry, jobs: JobService, vectors: VectorStore,
                 vision: VisionService) -> None:
        self.settings, self.registry, self.jobs, self.vectors, self.vision = settings, registry, jobs, vectors, vision
        self.soundscape_dir = Path(settings.data_dir) / "soundscapes"
        self._space: LabelSpace | None = None
        self._space_lock = threading.Lock()
        self._word_index: dict[str, tuple[Any, WordIndex]] = {}
        self._word_lock = threading.Lock()
        jobs.register(JOB_KIND, self._run_index_job)

    # -- collections ---------------------------------------------------------------------------------
    def require_collection(self, name: str) -> str:
        """The store table of collection `name`, or NOT_FOUND saying how to index it (and which exist)."""
        t = table_name(name)
        if not self.vectors.exists(t):
            known = collection_names(self.vectors)
            state = f"Indexed collections: {', '.join(known)}." if known else "No sound library is indexed yet."
            raise SensoriumError(
                ErrorCode.NOT_FOUND,
                f"No sound collection named {name!r}. {state} Index a folder of sounds as {name!r} first: on the "
                f"server `sensorium library index DIR --name {name}`, or over HTTP POST /api/library/sounds/index "
                f'with {{"directory": "...", "name": "{name}"}} (a folder inside DATA_DIR/libraries, '
                "SOUND_LIBRARY_DIR or LIBRARY_ROOTS).",
                details={"param": "collection", "collections": known})
        return t

    def list_collections(self, *, public: bool = False) -> CollectionList:
        """Every collection with its stats; `public`: folders relative to their library root (API)."""
        out = []
        for name in collection_names(self.vectors):
            t = table_name(name)
            info = self.vectors.get_info(t)
            last = info.get("last_index")
            col = Collection(
                name=name, root=info.get("root"), created_at=info.get("created_at"),
                updated_at=info.get("updated_at"), last_index=LastIndex(**last) if last else None,
                **collection_stats(self.vectors, t).model_dump())
            out.append(self._public_collection(col) if public else col)
        return CollectionList(collections=out, total=len(out))

    def _public_collection(self, col: Collection) -> Collection:
        """No absolute server paths: folders relative to their library root (else their name only)."""
        root = roots.public_folder(col.root, self.settings)
        last = col.last_index
        if last is not None:
            folder = Path(last.root)
            last = last.model_copy(update={
                "root": roots.public_folder(last.root, self.settings),
                "metadata_errors": [e.model_copy(update={"path": roots.scrub(e.path, folder),
                                                         "error": roots.scrub(e.error, folder)})
                                    for e in last.metadata_errors]})
        return col.model_copy(update={"root": root, "last_index": last})

    def delete_collection(self, name: str) -> CollectionDeleted:
        """Drop the collection's index (the sound files are never touched)."""
        self.vectors.drop(self.require_collection(name))
        return CollectionDeleted(name=name, deleted=True)

    def _clip_row(self, collection: str, clip_id: str) -> dict[str, Any]:
        """The stored row of a clip (facts, labels and vectors)."""
        rows = self.vectors.get(self.require_collection(collection), [clip_id])
        if not rows:
            raise SensoriumError(ErrorCode.NOT_FOUND, f"No clip {clip_id!r} in collection {collection!r}.")
        return rows[0]

    def clip_file(self, collection: str, clip_id: str) -> StoredFile:
        """The original sound file of a clip, with its content type (sniffed from its bytes)."""
        row = self._clip_row(collection, clip_id)
        path = Path(row["path"])
        if not path.is_file():
            raise SensoriumError(ErrorCode.NOT_FOUND,
                                 f"The file of clip {clip_id!r} ({row.get('rel_path')}) is no longer on disk; "
                                 "re-index the collection.")
        guess = sniff_file(path)
        media_type = MIME.get(guess[1], "application/octet-stream") if guess else "application/octet-stream"
        return StoredFile(path=str(path), media_type=media_type, filename=row.get("fname") or path.name)

    # -- indexing --------------------------------------------------------------------------------------
    def index_folder(self, directory: str, root: str | None = None) -> roots.RootedFolder:
        """The folder the HTTP API may index, inside a library root (`sound/roots.py`), or VALIDATION_ERROR
        (the same one whatever the reason, so nothing is told about paths outside the roots)."""
        return roots.resolve_folder(directory, self.settings, root)

    def submit_index(self, req: IndexRequest) -> JobRecord:
        """Queue the indexing of a folder inside the library roots (checked first) as a
        `library.sounds.index` job; its parameters and result name the folder relative to its root."""
        table_name(req.name)  # validates the name
        rooted = self.index_folder(req.directory)
        return self.jobs.submit(JOB_KIND, {"directory": rooted.relative, "library_root": rooted.root,
                                           "name": req.name, "max_seconds": req.max_seconds,
                                           "sfx_embeddings": req.sfx_embeddings})

    def index_library(self, directory: Path | str, name: str, progress: Progress | None = None, *,
                      check: Check | None = None, max_seconds: float = DEFAULT_MAX_SECONDS,
                      sfx_embeddings: bool = True, workers: int = 2) -> IndexSummary:
        """Index (incrementally) `directory` into collection `name` now (see `indexer.index_library`)."""
        return index_library(directory, name, self.vectors, self.registry, progress, check=check,
                             max_seconds=max_seconds, sfx_embeddings=sfx_embeddings, workers=workers)

    def _run_index_job(self, ctx: JobContext) -> dict[str, Any]:
        p = ctx.params
        t0 = time.perf_counter()
        rooted = self.index_folder(p["directory"], p.get("library_root"))  # checked again: links may change
        result = self.index_library(
            rooted.folder, p["name"], lambda f, m: ctx.progress(100 * f, m), check=ctx.check,
            max_seconds=float(p.get("max_seconds") or DEFAULT_MAX_SECONDS),
            sfx_embeddings=bool(p.get("sfx_embeddings", True)))
        return {"type": "sound_library_index", "result": _public_summary(result, rooted).model_dump(mode="json"),
                "metadata": {"processing_time_ms": round((time.perf_counter() - t0) * 1000, 1),
                             "model": f"{YAMNET}+{AISFX}"}}

    # -- caches (rebuilt only when the models or the collection change) --------------------------------
    def _label_space(self) -> LabelSpace:
        """The embedded AudioSet class descriptions (built once: MiniLM and the class map are fixed)."""
        with self._space_lock:
            if self._space is None:
                with self.registry.use(MINILM) as minilm, self.registry.use(YAMNET) as yamnet:
                    self._space = build_label_space(minilm, yamnet.class_names)
            return self._space

    def _words(self, table: str) -> WordIndex:
        """The words of every clip of a collection, cached until the collection changes."""
        stamp = word_index_stamp(self.vectors, table)
        with self._word_lock:
            hit = self._word_index.get(table)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        index = build_word_index(self.vectors, table)
        with self._word_lock:
            self._word_index[table] = (stamp, index)
        return index

    @staticmethod
    def _clip_url(collection: str) -> scoring.ClipUrl:
        return lambda clip_id: CLIP_URL.format(collection=collection, clip_id=clip_id)

    # -- search ----------------------------------------------------------------------------------------
    def search_text(self, query: str, *, collection: str, top_k: int = DEFAULT_TOP_K,
                    similarity_threshold: float = DEFAULT_THRESHOLD,
                    phrases: Sequence[tuple[str, float]] | None = None) -> SoundSearch:
        """Clips matching a text (method: `search.py`)."""
        query = scoring.clean_query(query)
        scoring.validate(top_k, similarity_threshold)
        t = self.require_collection(collection)
        space = self._label_space()
        with self.registry.use(MINILM) as minilm:
            q = scoring.encode_text_query(query, space, minilm, phrases)
        results = scoring.rank_text(self.vectors, t, q, space=space, word_index=lambda: self._words(t), top_k=top_k,
                                    similarity_threshold=similarity_threshold, clip_url=self._clip_url(collection))
        return SoundSearch(mode="text", query=query, label_profile=q.label_profile, results=results,
                           total_results=len(results), collection=collection, model=_models("text"))

    def search_audio(self, wave44k: np.ndarray, *, collection: str, top_k: int = DEFAULT_TOP_K,
                     similarity_threshold: float = DEFAULT_THRESHOLD, exclude_ids: Sequence[str] = ()) -> SoundSearch:
        """Clips that sound like the example (mono float32 at 44.1 kHz)."""
        scoring.validate(top_k, similarity_threshold)
        t = self.require_collection(collection)
        with self.registry.use(YAMNET) as yamnet, self.registry.use(AISFX) as aisfx:
            q = features_from_wave(wave44k, yamnet, aisfx)
        results = scoring.rank_audio(self.vectors, t, q, top_k=top_k, similarity_threshold=similarity_threshold,
                                     clip_url=self._clip_url(collection), exclude_ids=exclude_ids)
        return SoundSearch(mode="audio", query_labels=q["top_labels"], results=results,
                           total_results=len(results), collection=collection, model=_models("audio"))

    def frame_findings(self, frames_bgr: Sequence[np.ndarray]) -> list[frame_words.Findings]:
        """Per-frame visual findings (objects, people, colours, brightness) from the vision capability,
        in their JSON form (what the vision API shows)."""
        return [f.model_dump(mode="json") for f in self.vision.analyze_frames(frames_bgr)]

    def describe_frames(self, frames_bgr: Sequence[np.ndarray], *, use_llm: bool = True
                        ) -> tuple[FrameDescription, frame_words.Phrases]:
        """What 1-20 frames should sound like, and the weighted phrases to search for it."""
        frame_words.check_frame_count(len(frames_bgr))
        findings = self.frame_findings(frames_bgr)
        llm = self.registry.vision_llm() if use_llm else None
        return frame_words.describe_frames(frames_bgr, findings, llm)

    def search_frames(self, frames_bgr: Sequence[np.ndarray], *, collection: str, top_k: int = DEFAULT_TOP_K,
                      similarity_threshold: float = DEFAULT_THRESHOLD, use_llm: bool = True) -> SoundSearch:
        """Clips for what the frames should sound like (their description searched as text)."""
        scoring.validate(top_k, similarity_threshold)
        self.require_collection(collection)  # fail before the (slower) visual analysis
        desc, phrases = self.describe_frames(frames_bgr, use_llm=use_llm)
        res = self.search_text(desc.audio_description, collection=collection, top_k=top_k,
                               similarity_threshold=similarity_threshold, phrases=phrases)
        return res.model_copy(update={**dict(desc), "mode": "frames", "num_frames": len(frames_bgr),
                                      "model": _models("frames")})

    def load_frames(self, paths: Sequence[Path]) -> list[np.ndarray]:
        return [decode_image(p, max_pixels=self.settings.max_image_pixels, max_side=FRAME_SIDE).bgr for p in paths]

    def video_frames(self, path: Path, n: int = VIDEO_FRAMES, check: Check | None = None) -> list[np.ndarray]:
        return [f.image for f in sample_frames(path, n, "uniform", max_side=FRAME_SIDE, check=check)]

    @staticmethod
    def check_frames(n: int) -> None:
        """1-20 frames, or VALIDATION_ERROR."""
        frame_words.check_frame_count(n)

    @staticmethod
    def search_mode(*, query: str | None, audio: bool, frames: int, video: bool) -> SearchMode:
        """Which search the inputs ask for: exactly one of them must be given (VALIDATION_ERROR)."""
        given: list[SearchMode] = [m for m, v in (("query", bool(query and query.strip())), ("audio", audio),
                                                  ("frames", frames > 0), ("video", video)) if v]
        if len(given) != 1:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 "Give exactly one of `query`, `audio`, `frames` or `video`"
                                 + (f" (got {', '.join(given)})." if given else " (got none)."),
                                 details={"param": "query"})
        if frames:
            frame_words.check_frame_count(frames)
        return given[0]

    def search(self, mode: SearchMode, opts: SearchOptions, *, query: str | None = None,
               files: Sequence[InputFile] = (), check: Check | None = None) -> SoundSearch:
        """One search of the API (`mode` from `search_mode`; `files` hold the uploaded example, frames
        or video), with the soundscape when `opts.synthesize`."""
        common: dict[str, Any] = {"collection": opts.collection, "top_k": opts.top_k,
                                  "similarity_threshold": opts.similarity_threshold}
        paths = [Path(f.path) for f in files]
        if mode == "query":
            res = self.search_text(query or "", **common)
        elif mode == "audio":
            res = self.search_audio(load_head(paths[0], DEFAULT_MAX_SECONDS, check), **common)
            res.filename = files[0].filename
        elif mode == "frames":
            res = self.search_frames(self.load_frames(paths), **common)
            res.frame_filenames = [f.filename for f in files]
        else:
            res = self.search_frames(self.video_frames(paths[0], check=check), **common)
            res.filename = files[0].filename
        if opts.synthesize:
            res.soundscape = self.make_soundscape(opts.collection, res.results, opts.audio_length_in_s)
        return res

    # -- soundscapes -------------------------------------------------------------------------------------
    def _mix(self, collection: str, results: Sequence[SearchResult], seconds: float) -> tuple[Soundscape, bytes]:
        top = list(results[:MAX_LAYERS])
        rows = {r["id"]: r for r in self.vectors.get(table_name(collection), [r.id for r in top])}
        clips = [SoundscapeClip(path=Path(rows[r.id]["path"]), fname=r.fname, id=r.id, similarity=r.similarity)
                 for r in top if r.id in rows]
        mix, layers = mix_clips(clips, audio_length_in_s=seconds)
        data = wav_bytes(mix, MIX_SR)
        self._purge_soundscapes()
        sid = uuid.uuid4().hex
        folder = self.soundscape_dir / sid
        folder.mkdir(parents=True, exist_ok=True)
        try:
            write_atomic(folder / SOUNDSCAPE_FILE, data)
        except OSError:  # e.g. a full disk: leave nothing behind
            shutil.rmtree(folder, ignore_errors=True)
            raise
        scape = Soundscape(file=SOUNDSCAPE_FILE, duration=round(mix.shape[1] / MIX_SR, 3), sample_rate=MIX_SR,
                           channels=2, layers=layers, method="mix", job_id=sid,
                           audio_url=SOUNDSCAPE_URL.format(soundscape_id=sid))
        return scape, data

    def make_soundscape(self, collection: str, results: Sequence[SearchResult], seconds: float) -> Soundscape:
        """Mix the top search results of `collection` into a stored WAV (download at its `audio_url`)."""
        return self._mix(collection, results, seconds)[0]

    def soundscape_file(self, soundscape_id: str) -> StoredFile:
        path = self.soundscape_dir / soundscape_id / SOUNDSCAPE_FILE
        if not re.fullmatch(r"[0-9a-f]{32}", soundscape_id) or not path.is_file():
            raise SensoriumError(ErrorCode.NOT_FOUND, f"No soundscape {soundscape_id!r} (they are kept for "
                                 "JOB_RETENTION_HOURS).")
        return StoredFile(path=str(path), media_type="audio/wav", filename=SOUNDSCAPE_FILE)

    def _purge_soundscapes(self) -> None:
        """Soundscapes live as long as finished jobs do (JOB_RETENTION_HOURS)."""
        if not self.soundscape_dir.is_dir():
            return
        cutoff = time.time() - self.settings.job_retention_hours * 3600
        for d in self.soundscape_dir.iterdir():
            try:
                if d.stat().st_mtime < cutoff:
                    shutil.rmtree(d, ignore_errors=True)
            except OSError:
                continue

    # -- the Frame-to-Audio Similarity API ------------------------------------------------------------------
    def process_frames(self, frames: Sequence[InputFile], opts: SearchOptions) -> ProcessFramesResponse:
        """`POST /process_frames`: the frames' audio description, similar clips, optional soundscape."""
        res = self.search_frames(self.load_frames([Path(f.path) for f in frames]), collection=opts.collection,
                                 top_k=opts.top_k, similarity_threshold=opts.similarity_threshold)
        body = ProcessFramesResponse(
            frame_filenames=[f.filename for f in frames], num_frames=len(frames),
            audio_description=res.audio_description or "",
            similar_clips=[LegacyClip(fname=r.fname or "", similarity=r.similarity, distance=r.distance,
                                      split=r.split, metadata=LegacyClipMetadata(duration=r.metadata.duration,
                                                                                 orig_sr=r.metadata.orig_sr))
                           for r in res.results],
            total_results=res.total_results)
        if opts.synthesize:
            scape, data = self._mix(opts.collection, res.results, opts.audio_length_in_s)
            body.generated_audio = LegacySoundscape(**scape.model_dump(),
                                                    audio_base64=base64.b64encode(data).decode("ascii"))
        return body

    def legacy_health(self) -> LegacyHealth:
        """`GET /health`: are the frames-to-sound models installed (they load lazily), is an LLM set."""
        models = {}
        for key in FRAMES_MODELS:
            name = str(key)
            try:
                models[name] = LegacyModelState(installed=self.registry.locate(name) is not None,
                                                loaded=self.registry.is_loaded(name))
            except SensoriumError:
                models[name] = LegacyModelState(installed=False, loaded=False)
        ready = all(m.installed for m in models.values())
        llm = bool(self.settings.llm_configured)
        t = table_name(DEFAULT_COLLECTION)
        clips = self.vectors.count(t) if self.vectors.exists(t) else 0
        return LegacyHealth(status="healthy" if ready else "degraded", models_loaded=ready, qwen_model=llm,
                            qwen_processor=llm, audioldm_pipeline=False, models=models,
                            library_empty=clips == 0, library_clips=clips)


def _models(mode: str) -> str:
    return "+".join(str(k) for k in SEARCH_MODELS[mode])


def _public_summary(summary: IndexSummary, rooted: roots.RootedFolder) -> IndexSummary:
    """The summary of an API indexing job: the folder relative to its library root, no absolute paths."""
    folder = rooted.folder
    return summary.model_copy(update={
        "root": rooted.relative,
        "failed": [f.model_copy(update={"error": roots.scrub(f.error, folder)}) for f in summary.failed],
        "metadata_errors": [e.model_copy(update={"path": roots.scrub(e.path, folder),
                                                 "error": roots.scrub(e.error, folder)})
                            for e in summary.metadata_errors]})
