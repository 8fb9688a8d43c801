"""flexfleet edge_agent."""

__all__: list[str] = []
