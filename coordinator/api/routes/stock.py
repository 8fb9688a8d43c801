"""`/api/v1/stock`: stock per SKU per micro-warehouse."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from coordinator.api.auth import ViewerDep
from coordinator.api.deps import TwinDep
from coordinator.api.schemas import StockOut

router = APIRouter(prefix="/api/v1/stock", tags=["stock"])


@router.get("", summary="Stock levels", response_model=list[StockOut])
def list_stock(
    twin: TwinDep,
    _who: ViewerDep,
    site: Annotated[str | None, Query(max_length=64)] = None,
    node: Annotated[str | None, Query(max_length=64)] = None,
) -> list[StockOut]:
    """Current quantity of every SKU at every micro-warehouse (optionally one site or node)."""
    return [StockOut.of(item) for item in twin.stock(site=site, node=node)]


__all__ = ["router"]
