"""Answering 202 for work queued as a background job."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from sensorium.api.envelope import ok
from sensorium.jobs.schemas import JobRecord


def accepted(job: JobRecord) -> JSONResponse:
    """202 with the job and where to follow it."""
    body = ok("job", {**job.model_dump(mode="json"), "job_id": job.id, "status_url": f"/api/jobs/{job.id}",
                      "events_url": f"/api/jobs/{job.id}/events"},
              processing_time_ms=0.0, model=None)
    return JSONResponse(body, status_code=202)
