"""The web application: the JSON API under ``/api`` and the dashboard at ``/``.

Read-only: every route is a GET. Pages are served with a Content-Security-Policy that allows
only the app's own scripts and styles, so markup that slips into a page from a feed could not
run even if it escaped the templates' escaping.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from pipeline.store.database import Database
from pipeline.web import api, dashboard

STATIC = Path(__file__).resolve().parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def create_app(db: Database) -> FastAPI:
    """The app over ``db``; the caller owns (and disposes of) the database."""
    app = FastAPI(
        title="newswatch",
        summary="Tracked AI-industry events: launches, price cuts, investment pledges.",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url=None,  # the Swagger UI loads from a CDN; the schema is what tools need
        redoc_url=None,
    )
    app.state.db = db

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.include_router(api.router)
    app.include_router(dashboard.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
