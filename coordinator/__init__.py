"""flexfleet coordinator."""

__all__: list[str] = []
