"""The dashboard: HTML pages over the same queries as the API (placeholder until built)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index() -> str:
    return "<!doctype html><title>newswatch</title><p>dashboard: see /api/events"
