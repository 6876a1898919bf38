"""`sensorium analyze FILE...`: the server's analyses without a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from sensorium.cli.common import console, open_services, out, progress_bar
from sensorium.errors import SensoriumError


def analyze(
    files: Annotated[list[Path], typer.Argument(help="Audio, image or video files.", exists=True,
                                                dir_okay=False, readable=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full results as JSON.")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", help="Subtitles for audio: srt or vtt.")] = None,
    language: Annotated[str, typer.Option(help="Speech language: auto or a code (en, fr, ...).")] = "auto",
    words: Annotated[bool, typer.Option("--words", help="Word-level timestamps.")] = False,
    num_frames: Annotated[int, typer.Option(help="Frames analyzed per video.")] = 5,
    frame_sampling: Annotated[str, typer.Option(help="Video frames: uniform or keyframes (scene changes).")]
    = "uniform",
    prompt: Annotated[Optional[str], typer.Option(help="A question about images/videos.")] = None,
) -> None:
    """Analyze files with the same pipelines as the server, without a server."""
    from sensorium.speech.schemas import Segment
    from sensorium.speech.subtitles import to_srt, to_vtt
    from sensorium.vision.schemas import AnalyzeOptions

    if fmt not in (None, "srt", "vtt"):
        raise typer.BadParameter("--format must be srt or vtt")
    svc = open_services()
    results: list[dict[str, Any]] = []
    failed = 0
    if frame_sampling not in ("uniform", "keyframes"):
        raise typer.BadParameter("--frame-sampling must be uniform or keyframes")
    opts = AnalyzeOptions(language=language, word_timestamps=words, num_frames=num_frames, prompt=prompt,
                          frame_sampling=frame_sampling)
    try:
        with progress_bar() as bar:
            for path in files:
                task = bar.add_task(path.name, total=100)
                try:
                    res = svc.vision.analyze_path(path, opts,
                                                  progress=lambda f, t=task: bar.update(t, completed=100 * f))
                    results.append({"file": str(path), "success": True, **res.dump_with_run_info()})
                except SensoriumError as exc:
                    failed += 1
                    results.append({"file": str(path), "success": False, "error": exc.to_dict()})
                bar.update(task, completed=100)
    finally:
        svc.close()
    for item in results:
        if as_json:
            continue
        if not item["success"]:
            console.print(f"[red]{item['file']}: {item['error']['code']}: {item['error']['message']}")
            continue
        result = item["result"]
        if fmt and "segments" in result:
            segments = [Segment.model_validate(s) for s in result["segments"]]
            out.print((to_srt if fmt == "srt" else to_vtt)(segments), markup=False, end="")
            continue
        out.print(f"[bold]{item['file']}[/bold] ({item['type']})")
        if "transcription" in result:
            lang = result.get("language")
            out.print(f"  language: {lang}  duration: {result.get('duration')}s")
            out.print(f"  {result['transcription'] or '(no speech)'}", markup=False)
        if "description" in result:
            out.print(f"  {result['description']}", markup=False)
        if result.get("answer"):
            out.print(f"  answer: {result['answer']}", markup=False)
        summary = result.get("summary")
        if isinstance(summary, dict):
            summary = summary.get("text_summary") or summary.get("text")
        if summary and summary != result.get("description"):
            out.print(f"  summary: {summary}", markup=False)
    if as_json:
        out.print_json(json.dumps(results if len(results) > 1 else results[0]))
    raise typer.Exit(1 if failed else 0)
