"""The job record as every face shows it (API, CLI, SSE)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobError(BaseModel):
    code: str = Field(..., description="The error code (see the error table), e.g. `PROCESSING_FAILED`.")
    message: str | None = Field(None, description="What went wrong.")


class JobRecord(BaseModel):
    id: str = Field(..., description="The job id.")
    kind: str = Field(..., description="What the job does, e.g. `analyze.audio`, `foley.detect`.")
    status: JobStatus = Field(..., description="queued -> running -> succeeded | failed | cancelled.")
    progress: float = Field(..., description="0-100.")
    stage: str | None = Field(None, description="What the job is doing now.")
    params: dict[str, Any] = Field(default_factory=dict, description="The job's parameters.")
    result: dict[str, Any] | None = Field(None, description="The result once succeeded (the kind's result "
                                          "document, usually `{type, result, metadata}`).")
    error: JobError | None = Field(None, description="Why it failed.")
    attempts: int = Field(0, description="Runs so far (a restart can interrupt one).")
    owner_id: str | None = Field(None, description="The user the job belongs to (null: the local user, "
                                 "AUTH_MODE=off or the command line).")
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    updated_at: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")
