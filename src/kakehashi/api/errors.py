"""The single place where an exception becomes a TAXII 2.1 error message resource.

Shape (TAXII 2.1 section 3.6.1): ``title`` (required), ``description``, ``error_id``,
``error_code``, ``http_status`` (a string equal to the HTTP status), ``details``. A 500
never carries the exception text: it may hold SQL, paths or a peer's address.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from kakehashi.errors import (
    AuthenticationFailed,
    HubError,
    InvalidEnvelope,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
)

__all__ = [
    "TAXII_MEDIA_TYPE",
    "NotAcceptable",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "error_response",
    "handle_exception",
    "taxii_json",
]

log = logging.getLogger(__name__)

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
WWW_AUTHENTICATE = 'Basic realm="kakehashi", charset="UTF-8", Bearer realm="kakehashi"'


class NotAcceptable(HubError):
    """The Accept header names no media type this endpoint can produce."""


class UnsupportedMediaType(HubError):
    """The Content-Type of a POST is not a TAXII 2.1 envelope."""


class PayloadTooLarge(HubError):
    """The request body exceeds the API root's max_content_length."""


_STATUS: tuple[tuple[type[BaseException], int, str], ...] = (
    (AuthenticationFailed, 401, "Unauthorized"),
    (PermissionDenied, 403, "Forbidden"),
    (NotFound, 404, "Not Found"),
    (NotAcceptable, 406, "Not Acceptable"),
    (PayloadTooLarge, 413, "Payload Too Large"),
    (UnsupportedMediaType, 415, "Unsupported Media Type"),
    (InvalidEnvelope, 400, "Bad Request"),
    (InvalidRequest, 400, "Bad Request"),
    (StoreUnavailable, 503, "Service Unavailable"),
)


def taxii_json(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A response with a TAXII 2.1 JSON body."""
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
        status_code=status_code,
        media_type=TAXII_MEDIA_TYPE,
        headers=headers,
    )


def error_response(
    status_code: int,
    title: str,
    description: str = "",
    *,
    details: dict[str, Any] | None = None,
    error_id: str | None = None,
) -> Response:
    """Build the TAXII error message resource for ``status_code``."""
    body: dict[str, Any] = {
        "title": title,
        "http_status": str(status_code),
        "error_id": error_id or str(uuid.uuid4()),
    }
    if description:
        body["description"] = description
    if details:
        body["details"] = details
    headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if status_code == 401 else None
    return taxii_json(body, status_code, headers)


def handle_exception(request: Request, exc: Exception) -> Response:
    """Map any exception to a TAXII error response; log the unexpected ones."""
    if isinstance(exc, HTTPException):
        # Starlette's own: unknown route (404), method not allowed (405).
        headers = dict(exc.headers or {})
        response = error_response(exc.status_code, _reason(exc.status_code), str(exc.detail))
        response.headers.update(headers)
        return response
    for kind, status_code, title in _STATUS:
        if isinstance(exc, kind):
            description = str(exc)
            if isinstance(exc, StoreUnavailable):
                log.warning("store unavailable: %s", exc)
                description = "the database is unavailable; retry later"
            return error_response(status_code, title, description)
    error_id = str(uuid.uuid4())
    log.exception("unexpected error %s serving %s %s", error_id, request.method, request.url.path)
    return error_response(
        500,
        "Internal Server Error",
        f"the hub failed to handle the request; the operator can find it as {error_id}",
        error_id=error_id,
    )


def _reason(status_code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"
