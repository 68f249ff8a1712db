"""The server's icon (MCP 2025-11-25 `icons`), shown by clients beside the server and its tools: an inline
SVG, so no client fetches anything from elsewhere to draw it."""

from __future__ import annotations

import base64

from mcp_types import Icon

#: A speech bubble with a hand-over arrow, in OSVI's blue. No script, no external reference.
ICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<rect x="4" y="8" width="56" height="40" rx="10" fill="#2563eb"/>'
    '<path d="M18 48 L18 60 L30 48 Z" fill="#2563eb"/>'
    '<path d="M20 28 H40 M34 21 L42 28 L34 35" stroke="#fff" stroke-width="5" fill="none" '
    'stroke-linecap="round" stroke-linejoin="round"/>'
    "</svg>"
)
ICON_URI = "data:image/svg+xml;base64," + base64.b64encode(ICON_SVG.encode()).decode()
SERVER_ICONS: tuple[Icon, ...] = (Icon(src=ICON_URI, mime_type="image/svg+xml", sizes=["any"]),)
