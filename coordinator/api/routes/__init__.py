"""One `APIRouter` per resource; each resource's bodies are in `coordinator.api.models`."""

__all__: list[str] = []
