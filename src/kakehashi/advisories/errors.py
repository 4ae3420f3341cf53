"""The errors of the advisory / exposure engine (issue 6); all derive from ``HubError``.

    HubError
     ├── CannotDecide          two versions (or a version and a range) that cannot be ordered
     ├── AdvisoryFormatError   a CVE record or KEV catalog that does not have the expected shape
     └── InventoryFormatError  an inventory (CSV or CycloneDX) that cannot be imported

:class:`CannotDecide` is never turned into "not affected": the matcher reports such an
asset as an exposure whose decision is ``cannot decide``.
"""

from __future__ import annotations

from kakehashi.errors import HubError

__all__ = ["AdvisoryFormatError", "CannotDecide", "InventoryFormatError"]


class CannotDecide(HubError):
    """A version that the chosen comparator cannot parse or order.

    Attributes:
        version: the text that could not be used.
        scheme: the comparator's name (``vendor``, ``semver``, ``debian``, ...).
        reason: what is wrong, in plain words.
    """

    def __init__(self, reason: str, *, version: str, scheme: str) -> None:
        self.version = version
        self.scheme = scheme
        self.reason = reason
        super().__init__(f"{scheme} version {version!r}: {reason}")


class AdvisoryFormatError(HubError):
    """An advisory document whose shape is wrong.

    Attributes:
        path: JSON path of the first problem, e.g. ``$.containers.cna.affected[0].versions[1]``.
        reason: what is wrong.
        source: the file name or ``<stdin>``, when known.
    """

    def __init__(self, reason: str, *, path: str, source: str = "") -> None:
        self.path = path
        self.reason = reason
        self.source = source
        where = f"{source}: {path}" if source else path
        super().__init__(f"{where}: {reason}")


class InventoryFormatError(HubError):
    """An inventory that cannot be imported; nothing from it is kept.

    Attributes:
        source: the file name or ``<stdin>``.
        line: 1-based line of the fault (CSV row, or where the JSON broke), when known.
        path: JSON path of the fault in a CycloneDX document, when known.
        reason: what is wrong.
    """

    def __init__(
        self, reason: str, *, source: str, line: int | None = None, path: str = ""
    ) -> None:
        self.source = source
        self.line = line
        self.path = path
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        if path:
            where = f"{where}: {path}"
        super().__init__(f"{where}: {reason}")
