"""Answering 202 for work queued as a background job."""

from __future__ import annotations

import shutil
from typing import Any

from fastapi.responses import JSONResponse

from sensorium.api.envelope import ok
from sensorium.api.uploads import StoredUpload
from sensorium.services import Services


def accepted(job: dict[str, Any]) -> JSONResponse:
    """202 with the job and where to follow it."""
    job_id = job["id"]
    body = ok("job", {**job, "job_id": job_id, "status_url": f"/api/jobs/{job_id}",
                      "events_url": f"/api/jobs/{job_id}/events"},
              processing_time_ms=0.0, model=None)
    return JSONResponse(body, status_code=202)


def submit_upload_job(services: Services, kind: str, upload: StoredUpload, params: dict[str, Any]) -> JSONResponse:
    """Move an upload into a new job's folder and queue the job (202)."""
    job_id = services.jobs.new_id()
    workdir = services.jobs.workdir(job_id)
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / upload.path.name
    shutil.move(str(upload.path), target)
    job = services.jobs.submit(kind, {**params, "file": target.name, "filename": upload.filename}, job_id=job_id)
    return accepted(job)
