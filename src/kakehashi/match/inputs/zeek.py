"""Zeek logs (TSV with ``#fields`` headers, or JSON lines) as STIX observations.

Each record becomes one observation at ``ts`` (to ``ts + duration`` for ``conn``) with
these SCOs; ``*_ref`` properties point at the other objects of the same record:

- every log with ``id.orig_h``/``id.resp_h``: ``ipv4-addr``/``ipv6-addr`` for both hosts,
  and a ``network-traffic`` with ``src_ref``, ``dst_ref``, ``src_port``, ``dst_port``,
  ``protocols``;
- ``conn``: ``protocols`` = ``proto`` and the ``service`` names; byte and packet counts;
- ``dns``: ``domain-name`` = ``query``, ``resolves_to_refs`` the ``answers`` (addresses or
  names);
- ``http``: ``domain-name`` = ``host`` (an address object when it is one), ``url`` =
  ``http://host`` + ``uri``; on the traffic, ``extensions.'http-request-ext'`` with
  ``request_method``, ``request_value``, ``request_header`` (``Host``, ``User-Agent``,
  ``Referer``);
- ``files``: ``file`` with ``hashes`` (``MD5``, ``SHA-1``, ``SHA-256``), ``name``, ``size``,
  ``mime_type``; the hosts from ``tx_hosts``/``rx_hosts`` when ``id.*`` is absent;
- ``ssl``: ``domain-name`` = ``server_name``.

The log's kind comes from ``#path`` (TSV), ``_path`` (JSON), or else the file name
(``conn.log``, ``dns.2024-01-01.log.gz``…), or else the fields present.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from kakehashi.match.inputs.common import InputFile, Truncated, json_line, stamp_us
from kakehashi.match.observation import Observation, Problem

__all__ = ["read_zeek", "record_objects"]

_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
_KINDS = ("conn", "dns", "http", "files", "ssl")


def _address(value: str) -> dict[str, Any]:
    return {"type": "ipv6-addr" if ":" in value else "ipv4-addr", "value": value}


def _is_address(value: str) -> bool:
    return bool(value) and (value.replace(".", "").isdigit() or ":" in value)


def record_objects(kind: str, record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The SCOs of one Zeek record of the given log kind, keyed ``"0"``, ``"1"``, …"""
    objects: dict[str, dict[str, Any]] = {}

    def add(obj: dict[str, Any]) -> str:
        key = str(len(objects))
        objects[key] = obj
        return key

    traffic: dict[str, Any] | None = None
    orig, resp = record.get("id.orig_h"), record.get("id.resp_h")
    if kind == "files" and orig is None:
        tx, rx = record.get("tx_hosts"), record.get("rx_hosts")
        orig = tx[0] if isinstance(tx, list) and tx else tx if isinstance(tx, str) else None
        resp = rx[0] if isinstance(rx, list) and rx else rx if isinstance(rx, str) else None
    if isinstance(orig, str) or isinstance(resp, str):
        traffic = {"type": "network-traffic"}
        if isinstance(orig, str):
            traffic["src_ref"] = add(_address(orig))
        if isinstance(resp, str):
            traffic["dst_ref"] = add(_address(resp))
        for field, prop in (("id.orig_p", "src_port"), ("id.resp_p", "dst_port")):
            port = record.get(field)
            if isinstance(port, int):
                traffic[prop] = port
        protocols = [record["proto"]] if isinstance(record.get("proto"), str) else []
        service = record.get("service")
        if isinstance(service, str):
            protocols += [s for s in service.split(",") if s]
        elif isinstance(service, list):
            protocols += [s for s in service if isinstance(s, str)]
        if kind in ("dns", "http", "ssl") and kind not in protocols:
            protocols.append("tls" if kind == "ssl" else kind)
        traffic["protocols"] = protocols or ["ipv4" if ":" not in str(orig) else "ipv6"]
        for field, prop in (
            ("orig_bytes", "src_byte_count"),
            ("resp_bytes", "dst_byte_count"),
            ("orig_pkts", "src_packets"),
            ("resp_pkts", "dst_packets"),
        ):
            if isinstance(record.get(field), int):
                traffic[prop] = record[field]
        add(traffic)
    if kind == "dns" and isinstance(record.get("query"), str):
        domain: dict[str, Any] = {"type": "domain-name", "value": record["query"]}
        answers = record.get("answers")
        if isinstance(answers, list):
            refs = [
                add(_address(a) if _is_address(a) else {"type": "domain-name", "value": a})
                for a in answers
                if isinstance(a, str) and a
            ]
            if refs:
                domain["resolves_to_refs"] = refs
        add(domain)
    elif kind == "http":
        host = record.get("host")
        if isinstance(host, str) and host:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
            add(_address(name) if _is_address(name) else {"type": "domain-name", "value": name})
            uri = record.get("uri")
            if isinstance(uri, str):
                add({"type": "url", "value": f"http://{host}{uri}"})
        request: dict[str, Any] = {}
        for field, prop in (("method", "request_method"), ("uri", "request_value")):
            if isinstance(record.get(field), str):
                request[prop] = record[field]
        if isinstance(record.get("version"), str):
            request["request_version"] = "http/" + record["version"]
        headers = {
            header: record[field]
            for field, header in (
                ("host", "Host"),
                ("user_agent", "User-Agent"),
                ("referrer", "Referer"),
            )
            if isinstance(record.get(field), str)
        }
        if headers:
            request["request_header"] = headers
        if request and traffic is not None:
            traffic["extensions"] = {"http-request-ext": request}
    elif kind == "files":
        file: dict[str, Any] = {"type": "file"}
        hashes = {
            name: record[field]
            for field, name in (("md5", "MD5"), ("sha1", "SHA-1"), ("sha256", "SHA-256"))
            if isinstance(record.get(field), str)
        }
        if hashes:
            file["hashes"] = hashes
        if isinstance(record.get("filename"), str):
            file["name"] = record["filename"]
        size = record.get("total_bytes", record.get("seen_bytes"))
        if isinstance(size, int):
            file["size"] = size
        if isinstance(record.get("mime_type"), str):
            file["mime_type"] = record["mime_type"]
        if len(file) > 1:
            add(file)
    elif kind == "ssl" and isinstance(record.get("server_name"), str):
        add({"type": "domain-name", "value": record["server_name"]})
    return objects


def _kind_from_name(name: str) -> str | None:
    base = name.rsplit("/", 1)[-1]
    for kind in _KINDS:
        if base == f"{kind}.log" or base.startswith((f"{kind}.", f"{kind}_")):
            return kind
    return None


def _kind_from_fields(fields: set[str] | dict[str, Any]) -> str:
    if "query" in fields:
        return "dns"
    if "fuid" in fields and ("md5" in fields or "sha256" in fields or "mime_type" in fields):
        return "files"
    if "uri" in fields or "user_agent" in fields:
        return "http"
    if "server_name" in fields:
        return "ssl"
    return "conn"


def _times(record: dict[str, Any]) -> tuple[int, int]:
    first = stamp_us(record["ts"])
    duration = record.get("duration")
    if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0:
        return first, first + round(duration * 1_000_000)
    return first, first


def read_zeek(source: InputFile) -> Iterator[Observation | Problem]:
    """Observations from a Zeek log, TSV or JSON lines (see the module docstring)."""
    head = source.head(4096)
    try:
        if head.lstrip().startswith(b"{"):
            yield from _read_json(source)
        else:
            yield from _read_tsv(source)
    except Truncated as exc:
        yield Problem(source.name, None, f"truncated: {exc}", fatal=True)


def _read_json(source: InputFile) -> Iterator[Observation | Problem]:
    named = _kind_from_name(source.name)
    for number, line, complete in source.lines():
        if not line.strip():
            continue
        try:
            record = json_line(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            kind = record.get("_path") or named or _kind_from_fields(record)
            first, last = _times(record)
        except (ValueError, KeyError) as exc:
            reason = f"no ts field ({exc})" if isinstance(exc, KeyError) else str(exc)
            if not complete:
                yield Problem(source.name, number, f"truncated: {reason}", fatal=True)
                return
            yield Problem(source.name, number, reason)
            continue
        objects = record_objects(str(kind), record)
        if objects:
            yield Observation(objects, first, last)


#: The fields record_objects() and _times() read; TSV cells of other fields are not parsed.
_USED = frozenset(
    [
        "ts",
        "duration",
        "_path",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "proto",
        "service",
        "orig_bytes",
        "resp_bytes",
        "orig_pkts",
        "resp_pkts",
        "query",
        "answers",
        "host",
        "uri",
        "method",
        "version",
        "user_agent",
        "referrer",
        "tx_hosts",
        "rx_hosts",
        "md5",
        "sha1",
        "sha256",
        "filename",
        "total_bytes",
        "seen_bytes",
        "mime_type",
        "server_name",
        "fuid",
    ]
)


def _unescape(text: str) -> str:
    if "\\x" not in text:
        return text
    raw = _ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), text.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "replace")


class _Header:
    """The ``#`` lines of a TSV log, and the converters they imply per column."""

    def __init__(self) -> None:
        self.separator = "\t"
        self.set_separator = ","
        self.empty = "(empty)"
        self.unset = "-"
        self.fields: list[str] = []
        self.types: list[str] = []
        self.path: str | None = None
        self.columns: list[tuple[int, str, Callable[[str], Any]]] = []

    def read(self, line: str) -> None:
        if line.startswith("#separator "):
            self.separator = _unescape(line[11:])
            return
        name, _, rest = line[1:].partition(self.separator)
        if name == "set_separator":
            self.set_separator = rest
        elif name == "empty_field":
            self.empty = rest
        elif name == "unset_field":
            self.unset = rest
        elif name == "path":
            self.path = rest
        elif name == "fields":
            self.fields = rest.split(self.separator)
        elif name == "types":
            self.types = rest.split(self.separator)
        self.columns = [
            (i, field, self.converter(self.types[i] if i < len(self.types) else "string"))
            for i, field in enumerate(self.fields)
            if field in _USED
        ]

    def converter(self, kind: str) -> Callable[[str], Any]:
        """The function reading one cell of a column of Zeek type ``kind``."""
        if kind.startswith(("set[", "vector[")):
            inner = self.converter(kind[kind.index("[") + 1 : -1])
            empty, separator = self.empty, self.set_separator

            def members(text: str) -> list[Any]:
                return [] if text == empty else [inner(p) for p in text.split(separator)]

            return members
        if kind in ("count", "int", "port"):
            return int
        if kind in ("double", "interval"):
            return float
        if kind == "bool":
            return lambda text: text == "T"
        if kind == "time":
            return str  # converted by stamp_us, which keeps microseconds exact
        empty = self.empty
        return lambda text: "" if text == empty else _unescape(text)


def _read_tsv(source: InputFile) -> Iterator[Observation | Problem]:
    header = _Header()
    named = _kind_from_name(source.name)
    kind = named or "conn"
    for number, raw, complete in source.lines():
        line = raw.decode("utf-8", "surrogateescape")
        if line.startswith("#"):
            header.read(line)
            if line.startswith(("#fields", "#path")):
                kind = header.path or named or _kind_from_fields(set(header.fields))
            continue
        if not line:
            continue
        if not header.fields:
            yield Problem(source.name, number, "a record before the #fields header")
            continue
        cells = line.split(header.separator)
        try:
            if len(cells) != len(header.fields):
                raise ValueError(f"{len(cells)} fields where #fields names {len(header.fields)}")
            unset = header.unset
            record = {
                field: read(cells[i]) for i, field, read in header.columns if cells[i] != unset
            }
            first, last = _times(record)
        except (ValueError, KeyError, TypeError) as exc:
            reason = "no ts field" if isinstance(exc, KeyError) else str(exc)
            if not complete:
                yield Problem(source.name, number, f"truncated: {reason}", fatal=True)
                return
            yield Problem(source.name, number, reason)
            continue
        objects = record_objects(kind, record)
        if objects:
            yield Observation(objects, first, last)
