"""Media types: which Accept and Content-Type headers TAXII 2.1 endpoints take.

``application/taxii+json`` without a version means "the latest the server supports"
(TAXII 2.1 section 1.6.8.2), which here is 2.1; wildcards are honoured; parameters other
than ``version`` (``q``, ``charset``) are tolerated, as real clients send them.
"""

from __future__ import annotations

from kakehashi.api.errors import NotAcceptable, UnsupportedMediaType

__all__ = ["check_accept", "check_content_type"]


def _parse(media_range: str) -> tuple[str, dict[str, str]]:
    parts = [p.strip() for p in media_range.split(";")]
    params: dict[str, str] = {}
    for part in parts[1:]:
        name, _, value = part.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return parts[0].lower(), params


def _is_taxii21(media_range: str, *, wildcards: bool) -> bool:
    kind, params = _parse(media_range)
    if params.get("q") in {"0", "0.0", "0.00", "0.000"}:
        return False
    if kind == "application/taxii+json":
        return params.get("version", "2.1") == "2.1"
    return wildcards and kind in {"*/*", "application/*"}


def check_accept(header: str | None) -> None:
    """Raise :class:`NotAcceptable` unless TAXII 2.1 JSON is acceptable."""
    if header is None or not header.strip():
        return  # no preference: RFC 9110 says anything goes
    if not any(_is_taxii21(r, wildcards=True) for r in header.split(",")):
        raise NotAcceptable(
            f"cannot answer with any of {header!r}; this endpoint produces"
            " application/taxii+json;version=2.1"
        )


def check_content_type(header: str | None) -> None:
    """Raise :class:`UnsupportedMediaType` unless the body is a TAXII 2.1 envelope."""
    if header is None or not _is_taxii21(header, wildcards=False):
        raise UnsupportedMediaType(
            f"Content-Type {header!r} is not supported; send application/taxii+json;version=2.1"
        )
