"""The coordinator's HTTP API (FastAPI): `create_app` in `coordinator.api.app`.

Layout, one resource per pair of modules:

    app.py               the app, its lifespan and the routers it mounts
    deps.py              every dependency and shared parameter type (`Annotated` aliases)
    auth.py              bearer tokens and the viewer < operator roles
    errors.py            the API's own errors and the one table of status codes
    routes/<resource>.py one `APIRouter` per resource (thin: calls services)
    models/<resource>.py that resource's request and response bodies
"""

__all__: list[str] = []
