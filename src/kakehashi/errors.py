"""The one exception tree of Kakehashi.

Every error the library raises on purpose derives from :class:`HubError`. Errors carry
data (the key, the object id, the reason) so that callers and tests can inspect them;
none of them carries an HTTP status: the API layer (``kakehashi.api.errors``) is the one
place that maps them to TAXII error resources, and the CLI maps them to exit codes.

    HubError
     ├── ConfigError            a hub.toml that cannot be used (names key and line)
     ├── InvalidRequest         a request that is malformed (bad filter, bad next token, ...)
     │    └── InvalidEnvelope   a body that is not JSON, or not a TAXII envelope
     ├── StixValidationError    one STIX object that breaks STIX 2.1 (per-object failure)
     ├── AuthenticationFailed   no credentials, or credentials that match no account
     ├── PermissionDenied       an authenticated account that may not do this
     ├── NotFound               an unknown API root, collection, object or status
     ├── StoreError             the storage layer could not do its work
     │    ├── StoreUnavailable  the database cannot be reached / opened
     │    └── StoreConflict     a write conflicts with stored state
     ├── PeerError              a remote TAXII server failed (kakehashi.sync.client)
     └── (kakehashi.match.errors) PatternSyntaxError, MatchInputError
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "ConfigError",
    "HubError",
    "InvalidEnvelope",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "StixValidationError",
    "StoreConflict",
    "StoreError",
    "StoreUnavailable",
]


class HubError(Exception):
    """Root of every error Kakehashi raises on purpose."""


class ConfigError(HubError):
    """A configuration file that cannot be used.

    Attributes:
        key: dotted path of the offending key, e.g. ``collections[1].can_read``.
        line: 1-based line in the file where the key (or its table) is, when known.
        path: the file's path, when loaded from a file.
        reason: what is wrong, in plain words.
    """

    def __init__(
        self, reason: str, *, key: str = "", line: int | None = None, path: str = ""
    ) -> None:
        self.reason = reason
        self.key = key
        self.line = line
        self.path = path
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.path or "config"
        if self.line is not None:
            where = f"{where}:{self.line}"
        if self.key:
            return f"{where}: {self.key}: {self.reason}"
        return f"{where}: {self.reason}"


class InvalidRequest(HubError):
    """A request the hub understands but cannot accept (bad parameter, bad token).

    Attributes:
        parameter: the query parameter or header at fault, when there is one.
        reason: what is wrong.
    """

    def __init__(self, reason: str, *, parameter: str = "") -> None:
        self.reason = reason
        self.parameter = parameter
        super().__init__(f"{parameter}: {reason}" if parameter else reason)


class InvalidEnvelope(InvalidRequest):
    """A POST body that is not JSON, not UTF-8, or not a TAXII envelope."""


class StixValidationError(HubError):
    """One STIX object that does not conform to STIX 2.1.

    Attributes:
        object_id: the object's ``id`` when it has a usable one, else ``""``.
        prop: the property at fault, when there is one.
        reason: what is wrong.
    """

    def __init__(self, reason: str, *, object_id: str = "", prop: str = "") -> None:
        self.reason = reason
        self.object_id = object_id
        self.prop = prop
        super().__init__(f"{prop}: {reason}" if prop else reason)


class AuthenticationFailed(HubError):
    """No credentials were given, or they match no account."""


class PermissionDenied(HubError):
    """The account is known but may not perform this action on this resource."""


class NotFound(HubError):
    """The resource does not exist, or (for objects) the viewer may not know it does."""


class StoreError(HubError):
    """The storage layer failed."""


class StoreUnavailable(StoreError):
    """The database cannot be opened or reached."""


class StoreConflict(StoreError):
    """A write conflicts with what is stored."""
