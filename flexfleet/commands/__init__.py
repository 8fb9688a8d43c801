"""Command groups of the `flexfleet` CLI, one module each (see `flexfleet.cli`)."""
