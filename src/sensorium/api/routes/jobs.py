"""Background jobs: list, get, cancel, follow progress (server-sent events), download outputs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field

from sensorium.api.deps import ServicesDep
from sensorium.api.envelope import Envelope, error_responses, ok
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.jobs.schemas import JobRecord
from sensorium.jobs.service import TERMINAL
from sensorium.store.files import sanitize_filename

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


class JobList(BaseModel):
    jobs: list[JobRecord] = Field(..., description="The jobs of this page, newest first.")
    total: int = Field(..., description="Jobs matching the filters, in all.")
    limit: int
    offset: int

JobId = Annotated[str, Path(description="Job id as returned when the job was created.",
                            pattern=r"^[0-9a-f]{32}$")]


@router.get(
    "",
    summary="List jobs",
    description="Newest first. Filter by status and kind; page with limit/offset.",
    response_model=Envelope[JobList],
    responses=error_responses(ErrorCode.VALIDATION_ERROR),
)
def list_jobs(
    services: ServicesDep,
    status: Annotated[Literal["queued", "running", "succeeded", "failed", "cancelled"] | None,
                      Query(description="Only jobs in this state.")] = None,
    kind: Annotated[str | None, Query(description="Only jobs of this kind, e.g. `analyze.audio`.",
                                      max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Jobs to skip.")] = 0,
) -> dict[str, Any]:
    jobs, total = services.jobs.list(status=status, kind=kind, limit=limit, offset=offset)
    return ok("job_list", JobList(jobs=jobs, total=total, limit=limit, offset=offset),
              processing_time_ms=0.0, model=None)


@router.get(
    "/{job_id}",
    summary="Get a job",
    description="Status (queued, running, succeeded, failed, cancelled), progress 0-100 with a stage label, "
    "the result when succeeded, the error when failed, timestamps.",
    response_model=Envelope[JobRecord],
    responses=error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR),
)
def get_job(job_id: JobId, services: ServicesDep) -> dict[str, Any]:
    return ok("job", services.jobs.get(job_id), processing_time_ms=0.0, model=None)


@router.delete(
    "/{job_id}",
    summary="Cancel a job",
    description="A queued job is cancelled at once; a running job stops at its next checkpoint "
    "(status becomes `cancelled`); a finished job is left as it is.",
    response_model=Envelope[JobRecord],
    responses=error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR),
)
def cancel_job(job_id: JobId, services: ServicesDep) -> dict[str, Any]:
    return ok("job", services.jobs.cancel(job_id), processing_time_ms=0.0, model=None)


@router.get(
    "/{job_id}/events",
    summary="Follow a job (server-sent events)",
    description="`text/event-stream`: an `progress` event (JSON job state) whenever status, progress or "
    "stage changes, then one `end` event with the final state. Reconnect-safe: each event carries the "
    "full state.",
    responses={200: {"content": {"text/event-stream": {}}, "description": "Event stream."},
               **error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR)},
    response_class=StreamingResponse,
)
async def job_events(
    job_id: JobId,
    services: ServicesDep,
    request: Request,
    interval: Annotated[float, Query(ge=0.1, le=10, description="Polling interval in seconds.")] = 0.5,
) -> StreamingResponse:
    services.jobs.get(job_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[str]:
        last = None
        yield "retry: 2000\n\n"
        while True:
            job = await asyncio.to_thread(services.jobs.get, job_id)
            state = (job.status, job.progress, job.stage)
            if state != last:
                last = state
                event = "end" if job.status in TERMINAL else "progress"
                yield f"event: {event}\ndata: {job.model_dump_json()}\n\n"
                if event == "end":
                    return
            if await request.is_disconnected():
                return
            await asyncio.sleep(interval)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get(
    "/{job_id}/files/{name}",
    summary="Download a job output file",
    description="Files a job produced (listed in its result), once it has succeeded (NOT_FOUND before, and for a "
    "failed job, whose files may be incomplete). Supports HTTP Range requests.",
    responses={200: {"description": "The file."},
               **error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR)},
    response_class=FileResponse,
)
def job_file(
    job_id: JobId,
    services: ServicesDep,
    name: Annotated[str, Path(description="File name from the job's result.", max_length=200)],
) -> FileResponse:
    job = services.jobs.get(job_id)
    if job.status != "succeeded":  # a failed or running job's outputs may be half-written: never served
        raise SensoriumError(ErrorCode.NOT_FOUND, f"Job {job_id} is {job.status}: its files are served once it "
                             "has succeeded.")
    safe = sanitize_filename(name)
    path = services.jobs.workdir(job_id) / "outputs" / safe
    if safe != name or not path.is_file():
        raise SensoriumError(ErrorCode.NOT_FOUND, f"Job {job_id} has no output file {name!r}.")
    return FileResponse(path, filename=safe)
