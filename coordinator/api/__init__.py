"""The coordinator's HTTP API (FastAPI): `create_app` in `coordinator.api.app`."""

__all__: list[str] = []
