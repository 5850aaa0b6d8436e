"""The ASGI application: ``create_app(...)`` wires the routers onto one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from shoal import __version__
from shoal.api import admin, profiles, tracking
from shoal.api.errors import install_error_handlers
from shoal.compute.service import ComputeService
from shoal.profiles.service import ProfileService


def create_app(
    service: ProfileService,
    *,
    admin_token: str,
    bench_endpoints: bool = False,
    compute: ComputeService | None = None,
) -> FastAPI:
    """One app: the Tracking API, the Profile API and the admin API the CLI uses."""
    store = service.store
    app = FastAPI(
        title="Shoal",
        version=__version__,
        description=(
            "Segment-compatible Tracking API and Profile API, and Shoal's admin API. "
            'Tracking and admin errors share one shape: `{"success": false, "code", "message", '
            '"location", "status"}`; the Profile API answers errors as Segment does: '
            '`{"error": {"code", "message"}}`.'
        ),
    )
    install_error_handlers(app)
    app.include_router(tracking.build_router(store, parse_only_endpoint=bench_endpoints))
    app.include_router(profiles.build_router(service))
    app.include_router(admin.build_router(service, admin_token, compute))
    return app
