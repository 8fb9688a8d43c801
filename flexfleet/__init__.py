"""The top floor of flexfleet: the `flexfleet` command line, the demo, fault scenarios and NAB evaluation.

Nothing beneath it (`protocol`, `fleet_runtime`, `firmware_sim`, `edge_agent`, `coordinator`)
imports it.
"""

__all__: list[str] = []
