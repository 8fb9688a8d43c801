"""flexfleet firmware_sim."""

__all__: list[str] = []
