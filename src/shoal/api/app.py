"""The ASGI application: ``create_app(store)`` wires the routers onto one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from shoal import __version__
from shoal.api import admin, tracking
from shoal.api.errors import install_error_handlers
from shoal.store.store import Store


def create_app(store: Store, *, admin_token: str, bench_endpoints: bool = False) -> FastAPI:
    """One app serving the Tracking API and the admin API over ``store``."""
    app = FastAPI(
        title="Shoal",
        version=__version__,
        description=(
            "Segment-compatible Tracking API and Shoal's admin API. Errors share one shape: "
            '`{"success": false, "code", "message", "location", "status"}`.'
        ),
    )
    install_error_handlers(app)
    app.include_router(tracking.build_router(store, parse_only_endpoint=bench_endpoints))
    app.include_router(admin.build_router(store, admin_token))

    return app
