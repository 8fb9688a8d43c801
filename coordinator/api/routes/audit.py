"""`GET /api/v1/audit`: the audit log of API writes (admin, a token covering every site).

Records oldest first after `after`, with the chain's anchor and head hash; `flexfleet audit
verify --db FILE` checks the chain offline (`coordinator.access.audit_log`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from coordinator.access.audit_log import AuditLog
from coordinator.api.deps import AdminDep
from coordinator.errors import NotFound

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditRecordOut(BaseModel):
    """One write: who, when, what, and digests around it."""

    seq: int
    ts_ms: int
    principal: str
    role: str
    method: str
    path: str
    status: int = Field(description="The answer's status (0 when none was sent)")
    request_sha256: str
    before_sha256: str = Field(description="The resource's state before ('' if none)")
    after_sha256: str = Field(description="The resource's state after ('' if none)")
    prev_hash: str
    hash: str


class AuditPageOut(BaseModel):
    """A page of the audit log and where its chain starts."""

    anchor_seq: int = Field(description="The last pruned record's number (0: none pruned)")
    anchor_hash: str
    count: int
    records: list[AuditRecordOut]
    next_after: int | None


def get_audit(request: Request) -> AuditLog:
    """The audit log (404 when the app runs without one)."""
    log: AuditLog | None = getattr(request.app.state, "audit", None)
    if log is None:
        raise NotFound("audit log", "service")
    return log


@router.get("", summary="The audit log of API writes", response_model=AuditPageOut)
async def list_audit(
    request: Request,
    _who: AdminDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="records after this number")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPageOut:
    """Records oldest first, each chained to the one before by hash."""
    log = get_audit(request)
    records = await run_in_threadpool(lambda: log.records(after=after, limit=limit))
    seq, anchor = log.anchor()
    return AuditPageOut(
        anchor_seq=seq,
        anchor_hash=anchor,
        count=len(records),
        records=[AuditRecordOut(**r.to_json()) for r in records],
        next_after=records[-1].seq if len(records) == limit else None,
    )


__all__ = ["AuditPageOut", "AuditRecordOut", "get_audit", "router"]
