"""Authentication: HTTP Basic (username + token), ``Bearer`` and ``Token`` schemes.

Only SHA-256 digests of tokens are configured; the presented token is hashed and the
digests compared with :func:`hmac.compare_digest`. For Basic the comparison runs even when
the username is unknown, so response time does not tell which usernames exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable

from kakehashi.config import Account
from kakehashi.errors import AuthenticationFailed

__all__ = ["Authenticator", "token_digest"]

_DUMMY_DIGEST = "0" * 64


def token_digest(token: str) -> str:
    """The hex SHA-256 of a token, as ``token_sha256`` stores it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Authenticator:
    """Turns an ``Authorization`` header into an :class:`Account`, or refuses."""

    def __init__(self, accounts: Iterable[Account]) -> None:
        self._by_username = {a.username: a for a in accounts}
        self._by_digest = {a.token_sha256: a for a in self._by_username.values()}

    def authenticate(self, authorization: str | None) -> Account:
        """Return the account the header proves, or raise :class:`AuthenticationFailed`."""
        if not authorization:
            raise AuthenticationFailed("authentication required: send HTTP Basic or Bearer")
        scheme, _, credentials = authorization.strip().partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "basic":
            return self._basic(credentials)
        if scheme in {"bearer", "token"}:
            return self._bearer(credentials)
        raise AuthenticationFailed(f"unsupported authentication scheme {scheme!r}")

    def _basic(self, credentials: str) -> Account:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AuthenticationFailed("malformed Basic credentials") from exc
        username, sep, token = decoded.partition(":")
        if not sep:
            raise AuthenticationFailed("malformed Basic credentials")
        account = self._by_username.get(username)
        expected = account.token_sha256 if account else _DUMMY_DIGEST
        if hmac.compare_digest(token_digest(token), expected) and account is not None:
            return account
        raise AuthenticationFailed("unknown username or wrong token")

    def _bearer(self, token: str) -> Account:
        digest = token_digest(token)
        # Keyed by the digest of the secret, so the lookup's timing reveals nothing usable;
        # the final check is constant-time all the same.
        account = self._by_digest.get(digest)
        expected = account.token_sha256 if account else _DUMMY_DIGEST
        if hmac.compare_digest(digest, expected) and account is not None:
            return account
        raise AuthenticationFailed("unknown token")
