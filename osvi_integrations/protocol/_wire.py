"""Bytes in, bytes out: request building blocks, envelope decoding and the one status-to-error table."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from .._version import __version__

# What platform.python_version() returns, without importing platform (a millisecond at start-up).
USER_AGENT = f"osvi-integrations/{__version__} python/{sys.version.split()[0]}"
MASK = "**********"


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """One HTTP request, ready to send as is (and to resend unchanged on a retry)."""

    operation: str
    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)  # holds the token
    content: bytes | None


@dataclass(frozen=True, slots=True)
class RawResponse:
    status_code: int
    # Not in the repr: server text may echo the token, and crash reporters record frame locals.
    headers: Mapping[str, str] = field(repr=False)  # looked up case-insensitively
    content: bytes = field(repr=False)


class SecretHeaders(dict[str, str]):
    """Request headers whose repr masks the token (they live on the client, which may be printed)."""

    def __repr__(self) -> str:
        return repr({k: MASK if k.lower() == "api-token" else v for k, v in self.items()})


def base_headers(api_token: str) -> SecretHeaders:
    """The headers every request carries; built once per client."""
    return SecretHeaders({"API-Token": api_token, "Accept": "application/json", "User-Agent": USER_AGENT})


def encode_json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def redact(value: Any, secret: str) -> Any:
    """`value` (server text or a parsed body) with every occurrence of `secret` masked."""
    if not secret:
        return value
    if isinstance(value, str):
        return value.replace(secret, MASK)
    if isinstance(value, dict):
        return {redact(k, secret): redact(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secret) for v in value]
    return value


NOT_JSON: Any = object()


def decode_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        return NOT_JSON


def error_fields(payload: Any) -> tuple[str | None, str | None]:
    """(code, message) from `{"error": "..."}` or `{"errors": ["...", ...]}` (both occur in the API)."""
    if not isinstance(payload, dict):
        return None, None
    error = payload.get("error")
    if isinstance(error, str) and error:
        return error, error
    errors = payload.get("errors")
    if isinstance(errors, list):
        texts = [e for e in errors if isinstance(e, str) and e]
        if texts:
            return texts[0], "; ".join(texts)
    message = payload.get("message")
    return None, message if isinstance(message, str) and message else None


def text(body: bytes, limit: int = 500) -> str:
    return body[:limit].decode("utf-8", errors="replace")


#: The most characters of one piece of server text (an error message, a body field, a header) that
#: reaches an error, a log or a model. Longer text is cut and says how much was left out.
SERVER_TEXT_LIMIT = 500
#: The most items of one list or object of a server body kept in an error's `body`, and how deep.
_ITEMS_LIMIT = 20
_DEPTH_LIMIT = 6


def bound(value: str, limit: int = SERVER_TEXT_LIMIT) -> str:
    """`value`, cut to `limit` characters with a note of what was left out."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}... [{len(value) - limit} more characters]"


def bounded(value: Any, depth: int = 0) -> Any:
    """A parsed server body with every string `bound`ed, lists and objects cut to `_ITEMS_LIMIT` items."""
    if isinstance(value, str):
        return bound(value)
    if isinstance(value, list):
        if depth >= _DEPTH_LIMIT:
            return "[...]"
        items = [bounded(v, depth + 1) for v in value[:_ITEMS_LIMIT]]
        if len(value) > _ITEMS_LIMIT:
            items.append(f"... [{len(value) - _ITEMS_LIMIT} more items]")
        return items
    if isinstance(value, dict):
        if depth >= _DEPTH_LIMIT:
            return "{...}"
        out = {bound(str(k), 100): bounded(v, depth + 1) for k, v in list(value.items())[:_ITEMS_LIMIT]}
        if len(value) > _ITEMS_LIMIT:
            out["..."] = f"{len(value) - _ITEMS_LIMIT} more fields"
        return out
    return value


class _LowerHeaders(dict[str, str]):
    """Response headers keyed in lower case (how the package looks them up), token masked."""


class Masker:
    """Masks the API token in server bytes at the point they enter the package (the transport), so no
    later copy (a result, an error's `body`, a parser's local, a log line) can carry it. The token is
    masked as sent, percent-encoded and JSON-escaped. Its repr shows nothing of it."""

    __slots__ = ("__weakref__", "_forms", "_text_forms")

    def __init__(self, secret: SecretStr) -> None:
        raw = secret.get_secret_value()
        forms = {raw, quote(raw, safe=""), json.dumps(raw)[1:-1]} - {""}
        self._text_forms: tuple[str, ...] = tuple(sorted(forms, key=len, reverse=True))
        self._forms: tuple[bytes, ...] = tuple(f.encode() for f in self._text_forms)

    def __repr__(self) -> str:
        return f"Masker({MASK})"

    def text(self, value: str) -> str:
        for form in self._text_forms:
            if form in value:
                value = value.replace(form, MASK)
        return value

    def received(
        self,
        status: int,
        headers: Mapping[str, str],
        raw_headers: Iterable[tuple[bytes, bytes]],
        content: bytes,
    ) -> RawResponse:
        """The response as the package keeps it: content and headers with the token masked."""
        for form in self._forms:
            if form in content:
                content = content.replace(form, _MASK_BYTES)
        for name, value in raw_headers:
            if any(form in value or form in name for form in self._forms):
                headers = _LowerHeaders(
                    (self.text(k.decode("latin-1")).lower(), self.text(v.decode("latin-1"))) for k, v in raw_headers
                )
                break
        return RawResponse(status, headers, content)


_MASK_BYTES = MASK.encode()


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date. None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if seconds != seconds:  # NaN
            return None
        # "1e400" parses as infinity: a wait too long to honour, not an unreadable header.
        return max(0.0, seconds)
    from email.utils import parsedate_to_datetime  # rare (an HTTP-date Retry-After): not at import

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
