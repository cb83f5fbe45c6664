"""HTML pages. Every user string goes through :func:`escape`; pages carry no inline script."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape as _escape
from typing import Any
from urllib.parse import urlencode

__all__ = ["escape", "link", "page", "plot_div", "table", "url"]


def escape(value: Any) -> str:
    """``value`` as HTML text: ``& < > " '`` escaped."""
    return _escape("" if value is None else str(value), quote=True)


def url(path: str, **query: Any) -> str:
    """A path with an encoded query (lists give repeated keys), HTML-escaped for an attribute."""
    pairs = [(k, v) for k, values in query.items()
             for v in (values if isinstance(values, (list, tuple)) else [values]) if v is not None]
    return escape(path + ("?" + urlencode(pairs) if pairs else ""))


def link(text: Any, path: str, **query: Any) -> str:
    return f'<a href="{url(path, **query)}">{escape(text)}</a>'


def plot_div(source: str, ident: str, **query: Any) -> str:
    """A placeholder that ``app.js`` fills with the Plotly figure served at ``source``."""
    return f'<div class="plot" id="{escape(ident)}" data-src="{url(source, **query)}"></div>'


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], ident: str = "",
          raw_columns: Sequence[int] = ()) -> str:
    """A table of escaped cells; ``raw_columns`` hold HTML built here (links, already escaped)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f"<td>{cell if i in raw_columns else escape(cell)}</td>" for i, cell in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    ident_attr = f' id="{escape(ident)}"' if ident else ""
    return f'<table{ident_attr}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def page(title: str, body: str, storage_label: str) -> str:
    """A whole page: navigation, the title (escaped) and ``body`` (HTML built with this module)."""
    nav = " · ".join([link("Studies", "/"), link("Compare", "/compare"), link("Knowledge", "/knowledge")])
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)} · metahpo</title>"
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/static/style.css">'
        '<script src="/static/plotly.min.js"></script><script src="/static/app.js" defer></script>'
        "</head><body>"
        f'<header><strong>metahpo dashboard</strong> <nav>{nav}</nav>'
        f'<span class="storage">{escape(storage_label)} (read-only)</span></header>'
        f"<main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
