"""The bodies of the coordinator's HTTP API, one module per resource.

Layout: each resource has its routes in `coordinator.api.routes.<resource>` (one
`APIRouter`) and its request and response models in `coordinator.api.models.<resource>`
(alarms, commands, dead_letters, forecasts, health, jobs, nodes, orders, plans, stock);
`coordinator.api.models.common` holds the strict input base and the limits several
resources share. Route modules import their models from here; dependencies and shared
parameter types live in `coordinator.api.deps`.
"""

__all__: list[str] = []
