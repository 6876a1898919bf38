"""The studio's pages and static files under /studio (hidden from the OpenAPI docs).

Pages are rendered once per request from templates; the JS module of each page then calls the
JSON API from the browser (with the session cookie and the `X-CSRF-Token` of the page's
`<meta name="csrf-token">`). With AUTH_MODE=accounts the pages read the session themselves (`/studio`
is not guarded by `api/access.AuthMiddleware`): without one they redirect to /studio/login; the
session's CSRF token goes into the meta tag. /studio/login and /studio/signup exist only in that mode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from sensorium import __version__
from sensorium.accounts.keys import SESSION_COOKIE
from sensorium.accounts.schemas import Principal
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley.schemas import MODES, SURFACE_CHOICES

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
#: the only file types served from static/, with their content types
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    summary: str


PAGES = [
    Page("analyze", "Analyze", "Describe an image, analyse a video frame by frame, transcribe speech."),
    Page("sound", "Sound search", "Find library sounds from text, an example sound or frames."),
    Page("foley", "Foley", "Detect footsteps in a walking video and add a synchronised footstep track."),
    Page("music", "Music", "Music recommendations for a text or a video, with a beat-aligned preview."),
    Page("emotion", "Emotion", "Emotion and sentiment per utterance of a text, a recording or a video."),
    Page("jobs", "Jobs", "Background jobs: progress, cancel, results."),
    Page("account", "Account", "API keys and quota usage (when accounts are on)."),
]
#: AUTH_MODE=accounts only; not in the navigation list (the nav shows "Sign in" / "Sign out" instead)
AUTH_PAGES = [
    Page("login", "Sign in", "Sign in to use the studio and manage your API keys."),
    Page("signup", "Create an account", "An account gives you the studio, API keys for your programs and "
         "daily quotas."),
]


def auth_mode(request: Request) -> str:
    return str(request.app.state.services.settings.auth_mode)


def signed_in(request: Request) -> Principal | None:
    """The session's user with AUTH_MODE=accounts (None: not signed in, or another mode)."""
    if auth_mode(request) != "accounts":
        return None
    sid = request.cookies.get(SESSION_COOKIE, "")
    return request.app.state.services.accounts.principal_for_session(sid) if sid else None


def create_router() -> APIRouter:
    """The /studio router (its template environment lives in this closure, not in a module global)."""
    templates = Jinja2Templates(directory=str(TEMPLATES))
    router = APIRouter(prefix="/studio", include_in_schema=False)
    extra = {"foley": {"surfaces": SURFACE_CHOICES, "modes": MODES}}

    @router.get("", response_class=RedirectResponse)
    def studio_home() -> RedirectResponse:
        return RedirectResponse("/studio/analyze", status_code=307)

    def add_page(page: Page, *, auth_page: bool = False) -> None:
        def render(request: Request) -> HTMLResponse | RedirectResponse:
            mode = auth_mode(request)
            user = signed_in(request)
            if auth_page and mode != "accounts":
                return RedirectResponse("/studio/analyze", status_code=303)
            if not auth_page and mode == "accounts" and user is None:
                return RedirectResponse(f"/studio/login?next=/studio/{page.slug}", status_code=303)
            return templates.TemplateResponse(request, f"{page.slug}.html", {
                "page": page, "pages": PAGES, "version": __version__, "auth_mode": mode, "user": user,
                "signup_enabled": request.app.state.services.settings.signup_enabled,
                # the session's token (or one the accounts layer set); the JS sends it as X-CSRF-Token
                "csrf_token": user.csrf_token if user else getattr(request.state, "csrf_token", None),
                **extra.get(page.slug, {}),
            }, headers={"Cache-Control": "no-store"})

        router.add_api_route(f"/{page.slug}", render, methods=["GET"], response_class=HTMLResponse,
                             response_model=None, name=f"studio_{page.slug}")

    for page in PAGES:
        add_page(page)
    for page in AUTH_PAGES:
        add_page(page, auth_page=True)

    @router.get("/static/{name}")
    def static(name: Annotated[str, PathParam(max_length=64, pattern=r"^[a-z0-9_-]+\.[a-z]+$")]) -> FileResponse:
        path = STATIC / name
        media_type = MEDIA_TYPES.get(path.suffix)
        if media_type is None or not path.is_file():
            raise SensoriumError(ErrorCode.NOT_FOUND, f"No studio file {name!r}.")
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})

    return router
