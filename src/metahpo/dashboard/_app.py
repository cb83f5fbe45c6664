"""The read-only Starlette application."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metahpo.dashboard._html import escape, page
from metahpo.dashboard._pages import compare_body, knowledge_body, studies_body, study_body
from metahpo.dashboard._reader import StudiesList, StudyVersions
from metahpo.exceptions import InvalidParameterError, StudyNotFoundError
from metahpo.storage import Storage, existing_storage, mask_password
from metahpo.visualization import (
    plot,
    plot_knowledge_map,
    plot_knowledge_updates,
    plot_studies,
)

__all__ = ["create_app"]

STATIC = Path(__file__).with_name("static")
# Refuse any path with a "..", "." or empty segment, encoded or not, or a backslash: the
# dashboard serves nothing outside its own static folder.
_TRAVERSAL = re.compile(r"(^|/)(\.|%2e){1,2}(/|$)|%2f|%5c|\\|//", re.IGNORECASE)
_SECURITY_HEADERS = [
    # Plotly injects its styles; its WebGL traces (parallel coordinates) compile shaders
    # with `new Function`, hence 'unsafe-eval'. No inline script runs.
    (b"content-security-policy", b"default-src 'self'; script-src 'self' 'unsafe-eval'; "
     b"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; object-src 'none'; "
     b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class _Guard:
    """Only GET and HEAD, no path traversal, security headers on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or scope["path"].encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        if scope["method"] not in ("GET", "HEAD"):
            response: Response = PlainTextResponse("The dashboard only reads.", status_code=405,
                                                   headers={"Allow": "GET, HEAD"})
        elif _TRAVERSAL.search(path) or ".." in scope["path"]:
            response = PlainTextResponse("Not found.", status_code=404)
        else:
            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], *_SECURITY_HEADERS]
                await send(message)

            await self.app(scope, receive, send_with_headers)
            return
        await response(scope, receive, send)


def _figure(fig: Any) -> Response:
    return Response(fig.to_json(), media_type="application/json")


def create_app(storage: Storage | str) -> Starlette:
    """The dashboard of ``storage`` as an ASGI application (serve it with uvicorn).

    Example:
        >>> from metahpo.dashboard import create_app
        >>> app = create_app("sqlite:///:memory:")
    """
    store = existing_storage(storage)
    label = _label(store)
    studies_list = StudiesList(store)
    study_versions = StudyVersions(store)
    _import_drawing_modules()

    def html(title: str, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(page(title, body, label), status_code=status)

    def studies(request: Request) -> Response:
        return html("Studies", studies_body(store, studies_list))

    def study(request: Request) -> Response:
        name = request.query_params.get("name", "")
        try:
            return html(f"Study {name}", study_body(store, name, study_versions))
        except StudyNotFoundError:
            return html("Study not found", f"<p>No study named {escape(repr(name))}.</p>", 404)

    def compare(request: Request) -> Response:
        return html("Compare studies", compare_body(store, request.query_params.getlist("name"), study_versions))

    def knowledge(request: Request) -> Response:
        return html("Knowledge", knowledge_body(store))

    def api_studies(request: Request) -> Response:
        # While nothing changed, only the storage's fingerprint is read: two aggregate
        # queries on SQL.
        summaries, version = studies_list.read()
        return _versioned_json(request, summaries, version)

    def api_study(request: Request) -> Response:
        name = request.query_params.get("name", "")
        try:
            # While the study is unchanged, the version the page holds is answered from its
            # fingerprint (a few small queries on SQL); its trials are read only otherwise.
            version = study_versions.current(name)
            if version is not None and _not_modified(request.headers.get("if-none-match"), f'"{version}"'):
                return Response(status_code=304, headers=_version_headers(version))
            snapshot = study_versions.read(name)
        except StudyNotFoundError:
            return JSONResponse({"error": "No such study."}, status_code=404)
        return _versioned_json(request, snapshot, snapshot["version"])

    def api_figure(request: Request) -> Response:
        query = request.query_params
        text = query.get("trial")
        if text is not None and not (text.isascii() and text.strip().isdecimal()):
            return JSONResponse({"error": "The 'trial' query parameter must be a trial number (an int "
                                          f">= 0). Got {text!r} instead."}, status_code=400)
        try:
            trial = None if text is None else int(text)
            # The study /api/study or another figure read is drawn while its fingerprint is
            # unchanged: a page's figures read its trials once, not once each.
            data = study_versions.data(query.get("study", ""))
            return _figure(plot(data, query.get("kind", ""), store, trial=trial))
        except StudyNotFoundError:
            return JSONResponse({"error": "No such study."}, status_code=404)
        except (InvalidParameterError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    def api_compare(request: Request) -> Response:
        names = request.query_params.getlist("name")
        try:
            return _figure(plot_studies(names, store, x=request.query_params.get("x", "trial")))
        except StudyNotFoundError:
            return JSONResponse({"error": "No such study."}, status_code=404)
        except InvalidParameterError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    def api_knowledge_map(request: Request) -> Response:
        return _figure(plot_knowledge_map(store))

    def api_knowledge_updates(request: Request) -> Response:
        return _figure(plot_knowledge_updates(store))

    def plotly_js(request: Request) -> Response:
        # plotly.js from the installed plotly package: the dashboard works offline.
        import plotly

        bundle = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
        return FileResponse(bundle, media_type="text/javascript")

    routes = [
        Route("/", studies, methods=["GET"]),
        Route("/study", study, methods=["GET"]),
        Route("/compare", compare, methods=["GET"]),
        Route("/knowledge", knowledge, methods=["GET"]),
        Route("/api/studies", api_studies, methods=["GET"]),
        Route("/api/study", api_study, methods=["GET"]),
        Route("/api/figure", api_figure, methods=["GET"]),
        Route("/api/compare", api_compare, methods=["GET"]),
        Route("/api/knowledge/map", api_knowledge_map, methods=["GET"]),
        Route("/api/knowledge/updates", api_knowledge_updates, methods=["GET"]),
        Route("/static/plotly.min.js", plotly_js, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(_Guard)
    return app


def _versioned_json(request: Request, payload: Any, version: str) -> Response:
    """``payload`` as JSON with ``version`` as its entity tag, or an empty 304 when the
    request's If-None-Match names it.

    A page that polls sends the version it drew and gets an empty 304 until what it shows
    changes. "no-cache": a cache may keep the answer but must ask again before using it.
    """
    headers = _version_headers(version)
    if _not_modified(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(json.dumps(payload, default=str), media_type="application/json", headers=headers)


def _version_headers(version: str) -> dict[str, str]:
    return {"ETag": f'"{version}"', "Cache-Control": "no-cache"}


def _not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag``: RFC 9110's weak comparison, as
    Starlette's StaticFiles makes it (``*``, a list, ``W/`` tags)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]


def _import_drawing_modules() -> None:
    """Import what the figures need before requests run on several threads at once.

    Lazy imports racing in two threads can see a partly initialised module (pandas, which
    plotly imports on first use, fails so).
    """
    import pandas  # noqa: F401
    import plotly.graph_objects as go
    import plotly.io  # noqa: F401
    import scipy.interpolate  # noqa: F401
    import sklearn.ensemble
    import sklearn.inspection  # noqa: F401
    from plotly.subplots import make_subplots  # noqa: F401

    go.Figure().to_json()


def _label(store: Storage) -> str:
    url = getattr(store, "url", None)
    if isinstance(url, str):
        return mask_password(url)
    return type(store).__name__
