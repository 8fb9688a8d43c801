"""One `APIRouter` per resource."""

__all__: list[str] = []
