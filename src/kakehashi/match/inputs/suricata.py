"""Suricata ``eve.json`` (JSON lines) as STIX observations.

Every event with ``src_ip``/``dest_ip`` gives the two addresses and a ``network-traffic``
(ports, ``protocols`` = ``proto`` and ``app_proto``), at ``timestamp`` (``flow`` events:
``flow.start`` to ``flow.end``). By ``event_type``:

- ``dns``: a ``domain-name`` for each ``rrname`` (v1 records, v2/v3 ``queries``), with
  ``resolves_to_refs`` the A/AAAA/CNAME answers;
- ``http``: ``domain-name`` = ``http.hostname``, ``url`` = ``http://hostname`` + ``http.url``,
  and ``http-request-ext`` (method, URL, user agent) on the traffic;
- ``tls``: ``domain-name`` = ``tls.sni``; ``x509-certificate`` (``subject``, ``issuer``,
  ``hashes.SHA-1`` from ``fingerprint``);
- ``fileinfo``: ``file`` with ``hashes`` (``MD5``, ``SHA-1``, ``SHA-256``), ``name``, ``size``;
- ``alert`` and the rest: the addresses and traffic, plus any of the parts above the event
  carries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kakehashi.match.inputs.common import InputFile, Truncated, json_line, stamp_us
from kakehashi.match.observation import Observation, Problem

__all__ = ["event_objects", "read_suricata"]


def _address(value: str) -> dict[str, Any]:
    return {"type": "ipv6-addr" if ":" in value else "ipv4-addr", "value": value}


def _is_address(value: str) -> bool:
    return bool(value) and (value.replace(".", "").isdigit() or ":" in value)


def event_objects(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The SCOs of one eve.json event, keyed ``"0"``, ``"1"``, …"""
    objects: dict[str, dict[str, Any]] = {}

    def add(obj: dict[str, Any]) -> str:
        key = str(len(objects))
        objects[key] = obj
        return key

    traffic: dict[str, Any] | None = None
    src, dest = event.get("src_ip"), event.get("dest_ip")
    if isinstance(src, str) or isinstance(dest, str):
        traffic = {"type": "network-traffic"}
        if isinstance(src, str):
            traffic["src_ref"] = add(_address(src))
        if isinstance(dest, str):
            traffic["dst_ref"] = add(_address(dest))
        for field, prop in (("src_port", "src_port"), ("dest_port", "dst_port")):
            if isinstance(event.get(field), int):
                traffic[prop] = event[field]
        protocols = [
            str(event[f]).lower() for f in ("proto", "app_proto") if isinstance(event.get(f), str)
        ]
        traffic["protocols"] = [p for p in protocols if p != "failed"] or ["ip"]
        add(traffic)
    dns = event.get("dns")
    if isinstance(dns, dict):
        names = [dns.get("rrname")] + [
            q.get("rrname") for q in dns.get("queries", []) if isinstance(q, dict)
        ]
        answers = [a for a in dns.get("answers", []) if isinstance(a, dict)]
        if dns.get("type") == "answer" and "rdata" in dns:
            answers.append(dns)
        resolved = [
            str(a["rdata"])
            for a in answers
            if a.get("rrtype") in ("A", "AAAA", "CNAME") and isinstance(a.get("rdata"), str)
        ]
        for name in dict.fromkeys(n for n in names if isinstance(n, str) and n):
            domain: dict[str, Any] = {"type": "domain-name", "value": name}
            refs = [
                add(_address(r) if _is_address(r) else {"type": "domain-name", "value": r})
                for r in resolved
            ]
            if refs:
                domain["resolves_to_refs"] = refs
            add(domain)
    http = event.get("http")
    if isinstance(http, dict):
        host = http.get("hostname")
        if isinstance(host, str) and host:
            add(_address(host) if _is_address(host) else {"type": "domain-name", "value": host})
            if isinstance(http.get("url"), str):
                add({"type": "url", "value": f"http://{host}{http['url']}"})
        request: dict[str, Any] = {}
        if isinstance(http.get("http_method"), str):
            request["request_method"] = http["http_method"]
        if isinstance(http.get("url"), str):
            request["request_value"] = http["url"]
        if isinstance(http.get("protocol"), str):
            request["request_version"] = http["protocol"].lower()
        headers = {
            name: http[field]
            for field, name in (("hostname", "Host"), ("http_user_agent", "User-Agent"))
            if isinstance(http.get(field), str)
        }
        if headers:
            request["request_header"] = headers
        if request and traffic is not None:
            traffic["extensions"] = {"http-request-ext": request}
    tls = event.get("tls")
    if isinstance(tls, dict):
        if isinstance(tls.get("sni"), str) and tls["sni"]:
            add({"type": "domain-name", "value": tls["sni"]})
        certificate: dict[str, Any] = {"type": "x509-certificate"}
        for field, prop in (
            ("subject", "subject"),
            ("issuerdn", "issuer"),
            ("serial", "serial_number"),
        ):
            if isinstance(tls.get(field), str):
                certificate[prop] = tls[field]
        if isinstance(tls.get("fingerprint"), str):
            certificate["hashes"] = {"SHA-1": tls["fingerprint"].replace(":", "")}
        if len(certificate) > 1:
            add(certificate)
    info = event.get("fileinfo")
    if isinstance(info, dict):
        file: dict[str, Any] = {"type": "file"}
        hashes = {
            name: info[field]
            for field, name in (("md5", "MD5"), ("sha1", "SHA-1"), ("sha256", "SHA-256"))
            if isinstance(info.get(field), str)
        }
        if hashes:
            file["hashes"] = hashes
        if isinstance(info.get("filename"), str):
            file["name"] = info["filename"]
        if isinstance(info.get("size"), int):
            file["size"] = info["size"]
        if len(file) > 1:
            add(file)
    return objects


def _times(event: dict[str, Any]) -> tuple[int, int]:
    flow = event.get("flow")
    if event.get("event_type") == "flow" and isinstance(flow, dict) and "start" in flow:
        first = stamp_us(flow["start"])
        last = stamp_us(flow["end"]) if "end" in flow else first
        return first, max(first, last)
    moment = stamp_us(event["timestamp"])
    return moment, moment


def read_suricata(source: InputFile) -> Iterator[Observation | Problem]:
    """Observations from an eve.json file (see the module docstring)."""
    try:
        for number, line, complete in source.lines():
            if not line.strip():
                continue
            try:
                event = json_line(line)
                if not isinstance(event, dict):
                    raise ValueError("not a JSON object")
                first, last = _times(event)
            except (ValueError, KeyError) as exc:
                reason = "no timestamp" if isinstance(exc, KeyError) else str(exc)
                if not complete:
                    yield Problem(source.name, number, f"truncated: {reason}", fatal=True)
                    return
                yield Problem(source.name, number, reason)
                continue
            objects = event_objects(event)
            if objects:
                yield Observation(objects, first, last)
    except Truncated as exc:
        yield Problem(source.name, None, f"truncated: {exc}", fatal=True)
