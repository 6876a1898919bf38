"""The music workflows: index a music folder (now or as a job), library stats, recommend tracks for a
text or a video (a job), stream a track and its artwork, render a preview with a track under a video.

Routes, the CLI and jobs call these methods; the algorithms are `library.py`/`indexer.py` (rows and the
indexing run), `features.py`/`labels.py` (what a track is), `ranking.py` (scoring), `video_signals.py`
and `video_rules.py` (what a video needs), `align.py` (beat-to-cut offsets), `preview.py` (the mix).
Other capabilities: vision (objects, people and faces in frames), speech (a video's words), sound (the
library roots the HTTP API may index). Job kinds: `music.index`, `music.video`, `music.preview`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.jobs.schemas import JobRecord
from sensorium.jobs.service import JobContext, JobService
from sensorium.media.scenes import sample_frames
from sensorium.media.sniff import MIME, describe, sniff_file
from sensorium.media.video import probe_video
from sensorium.models.registry import ModelRegistry
from sensorium.models.text_embedding import MINILM
from sensorium.models.yamnet import YAMNET
from sensorium.music import ranking
from sensorium.music import video_signals as vs
from sensorium.music.align import align
from sensorium.music.indexer import index_music
from sensorium.music.preview import render_preview
from sensorium.music.schemas import (
    COLLECTION,
    IndexSummary,
    InitializeRequest,
    PreviewRequest,
    Song,
    StatsData,
    TrackFile,
    VideoMusicAnalysis,
    VideoRecommendation,
    VideoSignals,
)
from sensorium.music.video_rules import apply_rules, targets_of
from sensorium.sound.service import SoundService
from sensorium.speech.schemas import TranscribeOptions
from sensorium.speech.service import SpeechService
from sensorium.store.vectors import VectorStore
from sensorium.vision.schemas import ImageOptions
from sensorium.vision.service import VisionService

INDEX_JOB, VIDEO_JOB, PREVIEW_JOB = "music.index", "music.video", "music.preview"
AUDIO_URL = "/api/library/music/{id}/audio"
ARTWORK_URL = "/api/library/music/{id}/artwork"
PREVIEW_FILE = "preview.mp4"
VIDEO_FRAMES = 6
#: what music matching needs of a frame: objects, people, faces with expressions, colours
FRAME_OPTIONS = ImageOptions(faces=True, face_mesh=False, pose=False, ocr=False, nsfw=False, colors=True,
                             use_llm=False, faces_need_person=True)
Progress = Callable[[float, str], None]
Check = Callable[[], None]


class MusicService:
    def __init__(self, settings: Settings, registry: ModelRegistry, jobs: JobService, vectors: VectorStore,
                 vision: VisionService, speech: SpeechService, sound: SoundService) -> None:
        self.settings, self.registry, self.jobs, self.vectors = settings, registry, jobs, vectors
        self.vision, self.speech, self.sound = vision, speech, sound
        self.artwork_dir = Path(settings.data_dir) / "music" / "artwork"
        self._table: ranking.TrackTable | None = None
        self._table_lock = threading.Lock()
        jobs.register(INDEX_JOB, self._run_index_job)
        jobs.register(VIDEO_JOB, self._run_video_job)
        jobs.register(PREVIEW_JOB, self._run_preview_job)

    # -- indexing --------------------------------------------------------------------------------------
    def _api_folder(self, folder: str | None) -> tuple[Path, str]:
        """The folder the HTTP API may index (inside the library roots), and how to name it to clients."""
        root_name = "MUSIC_LIBRARY_DIR" if self.settings.music_library_dir is not None else None
        text = folder if folder and folder.strip() else (str(self.settings.music_library_dir or ""))
        if not text:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, "No folder given and MUSIC_LIBRARY_DIR is not set: send "
                                 '{"folder": "..."} (inside MUSIC_LIBRARY_DIR, DATA_DIR/libraries or LIBRARY_ROOTS) '
                                 "or set MUSIC_LIBRARY_DIR.", details={"param": "folder"})
        try:
            rooted = self.sound.index_folder(text, root_name)
        except SensoriumError as exc:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, "`folder` must be an existing folder inside "
                                 "MUSIC_LIBRARY_DIR, DATA_DIR/libraries or LIBRARY_ROOTS. The CLI (`sensorium music "
                                 "index DIR`) may index any folder.", details={"param": "folder"}) from exc
        return rooted.folder, f"{rooted.root}/{rooted.relative}"

    def submit_initialize(self, req: InitializeRequest) -> JobRecord:
        """Queue the indexing of the music folder (checked first) as a `music.index` job."""
        folder, public = self._api_folder(req.folder)
        return self.jobs.submit(INDEX_JOB, {"folder": str(folder), "public_folder": public,
                                            "max_tracks": req.max_videos})

    def index_folder(self, folder: Path | str, *, max_tracks: int | None = None, progress: Progress | None = None,
                     check: Check | None = None, workers: int = 2) -> IndexSummary:
        """Index (incrementally) any folder now (the CLI; the API goes through `submit_initialize`)."""
        return index_music(Path(folder), self.vectors, self.registry, self.artwork_dir, max_tracks=max_tracks,
                           progress=progress, check=check, workers=workers)

    def _run_index_job(self, ctx: JobContext) -> dict[str, Any]:
        p = ctx.params
        t0 = time.perf_counter()
        summary = self.index_folder(p["folder"], max_tracks=p.get("max_tracks"),
                                    progress=lambda f, m: ctx.progress(100 * f, m), check=ctx.check)
        summary.folder = p.get("public_folder") or Path(p["folder"]).name
        return {"type": "music_index", "result": summary.model_dump(mode="json"),
                "metadata": {"processing_time_ms": round((time.perf_counter() - t0) * 1000, 1),
                             "model": f"{YAMNET}+{MINILM}+librosa"}}

    def stats(self) -> StatsData:
        running = self.jobs.list(status="running", kind=INDEX_JOB)[1] + self.jobs.list(status="queued",
                                                                                      kind=INDEX_JOB)[1]
        if not self.vectors.exists(COLLECTION):
            return StatsData(collection_name=COLLECTION, vectors_count=0, points_count=0,
                             status="indexing" if running else "empty")
        n = self.vectors.count(COLLECTION)
        status = "indexing" if running else "green" if n else "empty"
        return StatsData(collection_name=COLLECTION, vectors_count=n, points_count=n, status=status,
                         last_index=self.vectors.get_info(COLLECTION).get("last_index"))

    # -- recommendations -----------------------------------------------------------------------------
    def _tracks(self) -> ranking.TrackTable:
        """The collection in memory, rebuilt when its revision changes."""
        if not self.vectors.exists(COLLECTION):
            return ranking.TrackTable([], np.zeros((0, 384), np.float32), np.zeros((0, 4), np.float32), [])
        revision = self.vectors.get_info(COLLECTION).get("revision")
        with self._table_lock:
            if self._table is not None and self._table.revision == revision:
                return self._table
        ids, text = self.vectors.vectors(COLLECTION, "text")
        table = ranking.TrackTable.build(ids, text, self.vectors.rows(COLLECTION, ranking.COLUMNS), revision)
        with self._table_lock:
            self._table = table
        return table

    def _embed(self, text: str) -> np.ndarray:
        with self.registry.use(MINILM) as minilm:
            return minilm.encode([text])[0]

    def recommend_text(self, query: str, limit: int = 10) -> list[Song]:
        """Tracks for a text (an empty library gives an empty list)."""
        query = query.strip()
        if not query:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, "`query` is empty.", details={"param": "query"})
        table = self._tracks()
        if not table.ids:
            return []
        return ranking.rank(table, self._embed(query), ranking.parse_query(query), limit=limit,
                            w_text=ranking.TEXT_WEIGHT["text"], urls=(ARTWORK_URL, AUDIO_URL))

    # -- video -----------------------------------------------------------------------------------------
    def video_signals(self, path: Path, check: Check | None = None) -> VideoSignals:
        """Everything measured on the video (see `video_signals.py`)."""
        info = probe_video(path)
        frames = [f.image for f in sample_frames(path, VIDEO_FRAMES, "uniform", max_side=640, info=info, check=check)]
        visual = vs.visual_signals(path, frames, info.duration, check)
        objects, people, expressions = vs.findings_summary(self.vision.analyze_frames(frames, FRAME_OPTIONS))
        audio: dict[str, Any] = {}
        if info.has_audio:
            try:
                wave = self.speech.load(path, check=check, min_seconds=0.5)
            except SensoriumError as exc:
                if exc.code == ErrorCode.VALIDATION_ERROR:
                    raise
                wave = None
            if wave is not None:
                with self.registry.use(YAMNET) as yamnet:
                    audio = vs.audio_signals(wave, yamnet)
                if audio["speech_ratio"] > 0.1:
                    text = self.speech.transcribe_samples(wave, TranscribeOptions(language=None), check=check)
                    audio["transcript"] = text.transcription.strip() or None
                    audio["sentiment"] = vs.sentiment(text.transcription)
        minutes = max(visual.duration, 1e-3) / 60
        return VideoSignals(duration=round(visual.duration, 3), cuts=visual.cuts,
                            cuts_per_minute=round(len(visual.cuts) / minutes, 2), motion=visual.motion,
                            brightness=visual.brightness, colorfulness=visual.colorfulness, objects=objects,
                            people=people, expressions=expressions, **audio)

    def analyze_video(self, path: Path, limit: int = 10, *, check: Check | None = None,
                      progress: Progress | None = None) -> VideoRecommendation:
        report = progress or (lambda f, m: None)
        report(0.05, "measuring the video")
        signals = self.video_signals(path, check)
        report(0.8, "ranking tracks")
        analysis = apply_rules(signals, self._llm_description(path))
        return VideoRecommendation(analysis=analysis, songs=self.recommend_for(analysis, limit))

    def _llm_description(self, path: Path) -> str | None:
        llm = self.registry.vision_llm()
        if llm is None:
            return None
        try:
            frames = [f.image for f in sample_frames(path, 4, "uniform", max_side=640)]
            return llm.describe(frames, {}, max_length=300, kind="video")
        except SensoriumError:
            return None  # the findings-based description stands in

    def recommend_for(self, analysis: VideoMusicAnalysis, limit: int) -> list[Song]:
        """Tracks for an analysed video, each with the start offset that puts beats on the cuts."""
        table = self._tracks()
        if not table.ids:
            return []
        songs = ranking.rank(table, self._embed(analysis.music_recommendation), targets_of(analysis), limit=limit,
                             w_text=ranking.TEXT_WEIGHT["video"], urls=(ARTWORK_URL, AUDIO_URL))
        rows = {r["id"]: r for r in self.vectors.get(COLLECTION, [s.id for s in songs])}
        for s in songs:
            r = rows.get(s.id)
            if r is None:
                continue
            a = align(analysis.signals.cuts, r["beats"] or [], r["beat_strengths"] or [], float(r["duration"]),
                      analysis.signals.duration)
            s.start_offset, s.alignment_score, s.alignment = a.offset, a.score, a.words()
            s.why += f"; start at {a.offset:.2f} s: {a.words()}"
        return songs

    def submit_video(self, path: Path, filename: str | None, limit: int) -> JobRecord:
        """Queue `music.video` for an uploaded video (moved into the job's folder)."""
        return self.jobs.submit_file(VIDEO_JOB, path, {"filename": filename, "limit": limit})

    def _run_video_job(self, ctx: JobContext) -> dict[str, Any]:
        t0 = time.perf_counter()
        res = self.analyze_video(ctx.workdir / ctx.params["file"], int(ctx.params.get("limit") or 10),
                                 check=ctx.check, progress=lambda f, m: ctx.progress(100 * f, m))
        return {"type": "music_video_recommendation", **res.model_dump(mode="json"),
                "metadata": {"processing_time_ms": round((time.perf_counter() - t0) * 1000, 1),
                             "model": "librosa+yolox-nano+yamnet+minilm", "filename": ctx.params.get("filename")}}

    # -- preview ---------------------------------------------------------------------------------------
    def submit_preview(self, req: PreviewRequest) -> JobRecord:
        """Queue a preview render of an analysed video with one of its recommended (or any) tracks."""
        job = self.jobs.get(req.task_id)
        if job.kind != VIDEO_JOB or job.status != "succeeded" or not job.result:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, "`task_id` must be a finished analyze-video task.",
                                 details={"param": "task_id"})
        self.track_file(req.track_id)  # NOT_FOUND early
        offset = req.offset
        if offset is None:
            song = next((s for s in job.result.get("songs", []) if s["id"] == req.track_id), None)
            offset = float(song.get("start_offset") or 0.0) if song else None
        if offset is None:
            a = VideoMusicAnalysis.model_validate(job.result["analysis"])
            row = self.vectors.get(COLLECTION, [req.track_id])[0]
            offset = align(a.signals.cuts, row["beats"] or [], row["beat_strengths"] or [], float(row["duration"]),
                           a.signals.duration).offset
        return self.jobs.submit(PREVIEW_JOB, {"task_id": req.task_id, "track_id": req.track_id, "offset": offset,
                                              "duck_db": req.duck_db})

    def _run_preview_job(self, ctx: JobContext) -> dict[str, Any]:
        p = ctx.params
        source = self.jobs.get(p["task_id"])
        video = self.jobs.workdir(source.id) / source.params["file"]
        if not video.is_file():
            raise SensoriumError(ErrorCode.NOT_FOUND, "The analysed video is no longer kept (JOB_RETENTION_HOURS).")
        signals = VideoSignals.model_validate(source.result["analysis"]["signals"])
        track = Path(self.track_file(p["track_id"]).path)
        ctx.progress(10, "mixing")
        outputs = ctx.workdir / "outputs"  # what GET /api/jobs/{id}/files/{name} serves
        outputs.mkdir(parents=True, exist_ok=True)
        done = render_preview(video, signals.duration, track, float(p["offset"]), signals.speech_spans,
                              outputs / PREVIEW_FILE, duck_db=float(p["duck_db"]))
        return {"type": "music_preview", "result": {**done, "track_id": p["track_id"],
                                                    "url": f"/api/jobs/{ctx.job_id}/files/{PREVIEW_FILE}"},
                "metadata": {"model": None}}

    # -- files -------------------------------------------------------------------------------------------
    def _row(self, track_id: str) -> dict[str, Any]:
        rows = self.vectors.get(COLLECTION, [track_id]) if self.vectors.exists(COLLECTION) else []
        if not rows:
            raise SensoriumError(ErrorCode.NOT_FOUND, f"No track {track_id!r} in the music library.")
        return rows[0]

    def track_file(self, track_id: str) -> TrackFile:
        row = self._row(track_id)
        path = Path(row["path"])
        if not path.is_file():
            raise SensoriumError(ErrorCode.NOT_FOUND, f"The file of track {track_id!r} is no longer on disk; "
                                 "index the library again.")
        guess = sniff_file(path)
        media_type = MIME.get(guess[1], "application/octet-stream") if guess else "application/octet-stream"
        return TrackFile(path=str(path), media_type=media_type, filename=path.name)

    def artwork_file(self, track_id: str) -> TrackFile:
        row = self._row(track_id)
        path = self.artwork_dir / (row.get("artwork") or "-")
        if not row.get("artwork") or not path.is_file():
            raise SensoriumError(ErrorCode.NOT_FOUND, f"Track {track_id!r} has no embedded artwork.")
        return TrackFile(path=str(path), media_type="image/jpeg", filename=f"{track_id}.jpg")

    @staticmethod
    def check_video(path: Path) -> None:
        info = describe(path)
        if not info.has_video:
            raise SensoriumError(ErrorCode.INVALID_FILE_TYPE, "`video` must be a video file.",
                                 details={"param": "video"})
