"""`/api/v1/dead-letters`: messages that failed decoding, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from coordinator.api.deps import StoreDep, ViewerDep
from coordinator.api.models.dead_letters import DeadLetterOut, DeadLetterPage

router = APIRouter(prefix="/api/v1/dead-letters", tags=["dead letters"])


@router.get("", summary="List dead letters", response_model=DeadLetterPage)
def list_dead_letters(
    store: StoreDep,
    _who: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> DeadLetterPage:
    """Topic, reason, time and the first bytes of each rejected message."""
    rows = store.dead_letters(limit=limit, offset=offset)
    return DeadLetterPage(
        total=store.dead_letter_count(), items=[DeadLetterOut.of(r) for r in rows]
    )


__all__ = ["router"]
