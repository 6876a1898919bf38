"""The web studio: server-rendered pages (Jinja2) and small vanilla JS modules that call the HTTP API
from the browser. It computes nothing itself: every picture is drawn from what the API returned."""

from sensorium.web.negotiation import prefers_html
from sensorium.web.routes import create_router

__all__ = ["create_router", "prefers_html"]
