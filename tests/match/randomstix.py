"""Seeded random STIX patterns and observations for the differential test and the bench.

Values come from small pools so that patterns and observations meet often; every operator
and qualifier of STIX 2.1 patterning is generated (EXISTS only when asked: stix2-matcher
does not implement it). Patterns are built as :mod:`kakehashi.match.ast` nodes and turned
into text with ``str()``, so the parser reads back everything the generator makes.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from kakehashi.match.ast import (
    BinaryLiteral,
    BoolLiteral,
    Comparison,
    ComparisonAnd,
    ComparisonExpression,
    ComparisonGroup,
    ComparisonOr,
    Exists,
    FloatLiteral,
    FollowedBy,
    IndexStep,
    IntLiteral,
    KeyStep,
    Literal,
    ObjectPath,
    ObservationAnd,
    ObservationExpression,
    ObservationLeaf,
    ObservationOr,
    Operator,
    Pattern,
    Repeats,
    SetLiteral,
    StartStop,
    StringLiteral,
    TimestampLiteral,
    Within,
)
from kakehashi.match.observation import Observation
from kakehashi.stix.timestamps import parse_timestamp_us

IPS = ["10.0.0.1", "10.0.0.2", "10.1.2.3", "192.168.1.7", "198.51.100.9", "203.0.113.5"]
CIDRS = [
    "10.0.0.0/8",
    "10.0.0.0/24",
    "10.1.0.0/16",
    "192.168.0.0/16",
    "198.51.100.0/24",
    "203.0.113.5/32",
    "0.0.0.0/1",
    "10.0.0.2/31",
]
DOMAINS = ["example.com", "evil.example.org", "a.b.c.net", "xn--bcher-kva.example", "mal_ware.io"]
NAMES = ["report.pdf", "setup.exe", "a%b.txt", "x_y.doc", "caf\u00e9.txt", "R\u00e9sum\u00e9", ""]
URLS = ["http://example.com/a.php?id=1", "https://evil.example.org/x", "ftp://a.b.c.net/f"]
PORTS = [22, 53, 80, 443, 8080]
PROTOCOLS = ["tcp", "udp", "http", "dns", "tls"]
MD5S = ["0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"]
SHA256S = ["a" * 64, "0b" * 32]
MAGIC = ["cafebabe", "4d5a", "ff"]
STAMPS = ["2024-01-01T00:00:00Z", "2024-01-01T00:00:10Z", "2024-06-01T12:00:00.5Z"]
LIKES = ["%.com", "evil%", "%example%", "a_b.c.net", "%.exe", "%", "_%", "caf\u00e9%", "a!%b.txt"]
REGEXES = [
    "^10\\.",
    "example\\.(com|org)$",
    "[0-9]{3}",
    "\\.exe$",
    "^$",
    "caf\u00e9",
    "x",
    "^(a|b)",
]
BASE = parse_timestamp_us("2024-01-01T00:00:00Z")


@dataclass(frozen=True)
class PathSpec:
    """A path the generator may use, and what its values are."""

    object_type: str
    steps: tuple[KeyStep | IndexStep, ...]
    kind: str  # ip, domain, text, int, bool, stamp, hex, list


PATHS = [
    PathSpec("ipv4-addr", (KeyStep("value"),), "ip"),
    PathSpec("domain-name", (KeyStep("value"),), "domain"),
    PathSpec("domain-name", (KeyStep("resolves_to_refs"), IndexStep(None), KeyStep("value")), "ip"),
    PathSpec("domain-name", (KeyStep("resolves_to_refs"), IndexStep(0), KeyStep("value")), "ip"),
    PathSpec("network-traffic", (KeyStep("dst_ref"), KeyStep("value")), "ip"),
    PathSpec("network-traffic", (KeyStep("src_ref"), KeyStep("value")), "ip"),
    PathSpec("network-traffic", (KeyStep("dst_port"),), "int"),
    PathSpec("network-traffic", (KeyStep("protocols"), IndexStep(None)), "text"),
    PathSpec("network-traffic", (KeyStep("protocols"), IndexStep(1)), "text"),
    PathSpec("network-traffic", (KeyStep("is_active"),), "bool"),
    PathSpec("network-traffic", (KeyStep("start"),), "stamp"),
    PathSpec("file", (KeyStep("name"),), "text"),
    PathSpec("file", (KeyStep("size"),), "int"),
    PathSpec("file", (KeyStep("hashes"), KeyStep("MD5")), "md5"),
    PathSpec("file", (KeyStep("hashes"), KeyStep("SHA-256", quoted=True)), "sha256"),
    PathSpec("file", (KeyStep("magic_number_hex"),), "hex"),
    PathSpec("url", (KeyStep("value"),), "url"),
]


class Generator:
    """Random patterns and observation sets from one seed."""

    def __init__(self, seed: int, *, exists: bool = False, temporal: bool = False) -> None:
        self.rng = random.Random(seed)
        self.exists = exists
        #: Leaves from three frequent addresses, more observations: exercises the
        #: observation operators and qualifiers with many actual matches.
        self.temporal = temporal

    # -- values ----------------------------------------------------------------------------

    def value(self, kind: str) -> Any:
        r = self.rng
        pools: dict[str, list[Any]] = {
            "ip": IPS,
            "domain": DOMAINS,
            "text": NAMES + PROTOCOLS,
            "int": [*PORTS, 0, 1, 65535],
            "bool": [True, False],
            "stamp": STAMPS,
            "md5": MD5S,
            "sha256": SHA256S,
            "hex": MAGIC,
            "url": URLS,
        }
        return r.choice(pools[kind])

    def literal(self, kind: str) -> Literal:
        """A literal usually of the path's kind, sometimes of another (type mismatches)."""
        r = self.rng
        if r.random() < 0.15:
            kind = r.choice(["ip", "text", "int", "bool", "stamp", "hex", "float"])
        if kind == "float":
            return FloatLiteral.of(r.choice(["80.0", "-1.5", "443.0", "0.5"]))
        value = self.value(kind)
        if kind == "int":
            return IntLiteral.of(value)
        if kind == "bool":
            return BoolLiteral(value)
        if kind == "stamp":
            return TimestampLiteral(value, parse_timestamp_us(value))
        if kind == "hex":
            return BinaryLiteral(bytes.fromhex(value), f"h'{value}'")
        return StringLiteral(value)

    # -- patterns --------------------------------------------------------------------------

    def comparison(self) -> ComparisonExpression:
        r = self.rng
        spec = r.choice(PATHS)
        path = ObjectPath(spec.object_type, spec.steps)
        negated = r.random() < 0.2
        if self.exists and r.random() < 0.1:
            return Exists(path, negated)
        ops = [
            Operator.EQ,
            Operator.EQ,
            Operator.NEQ,
            Operator.IN,
            Operator.LT,
            Operator.LE,
            Operator.GT,
            Operator.GE,
            Operator.LIKE,
            Operator.MATCHES,
        ]
        if spec.kind == "ip":
            ops += [Operator.ISSUBSET, Operator.ISSUBSET, Operator.ISSUPERSET]
        op = r.choice(ops)
        if op in (Operator.ISSUBSET, Operator.ISSUPERSET):
            return Comparison(path, op, StringLiteral(r.choice(CIDRS + IPS)), negated)
        if op is Operator.LIKE:
            return Comparison(path, op, StringLiteral(r.choice(LIKES)), negated)
        if op is Operator.MATCHES:
            return Comparison(path, op, StringLiteral(r.choice(REGEXES)), negated)
        if op is Operator.IN:
            first = self.literal(spec.kind)
            items = [first]
            for _ in range(r.randint(0, 2)):
                other = self.literal(spec.kind)
                if type(other) is type(first):
                    items.append(other)
            return Comparison(path, op, SetLiteral(tuple(items)), negated)
        literal = self.literal(spec.kind)
        while op not in (Operator.EQ, Operator.NEQ) and isinstance(literal, BoolLiteral):
            literal = self.literal(spec.kind)  # the grammar orders no booleans
        return Comparison(path, op, literal, negated)

    def comparison_expression(self, depth: int = 0) -> ComparisonExpression:
        r = self.rng
        if self.temporal:
            path = ObjectPath("ipv4-addr", (KeyStep("value"),))
            return Comparison(path, Operator.EQ, StringLiteral(r.choice(IPS[:3])))
        if depth >= 2 or r.random() < 0.55:
            return self.comparison()
        operands = tuple(self.comparison_expression(depth + 1) for _ in range(r.randint(2, 3)))
        node: ComparisonExpression = (
            ComparisonAnd(operands) if r.random() < 0.5 else ComparisonOr(operands)
        )
        return ComparisonGroup(node) if r.random() < 0.2 else node

    def observation_expression(self, depth: int = 0) -> ObservationExpression:
        r = self.rng
        roll = r.random()
        if depth >= 3 or roll < 0.45:
            node: ObservationExpression = ObservationLeaf(self.comparison_expression())
        elif roll < 0.75:
            operands = tuple(self.observation_expression(depth + 1) for _ in range(2))
            kind = r.choice([ObservationAnd, ObservationOr, FollowedBy])
            node = kind(operands)
        else:
            node = self.observation_expression(depth + 1)
        roll = r.random()
        if roll < 0.12:
            node = Within(node, r.choice(["1", "5", "2.5", "10", "0.000001"]))
        elif roll < 0.22:
            node = Repeats(node, r.randint(1, 3))
        elif roll < 0.3:
            start, stop = sorted(r.sample(range(0, 25), 2))
            node = StartStop(node, _stamp(start), _stamp(stop))
        return node

    def pattern(self) -> Pattern:
        return Pattern(self.observation_expression())

    # -- observations ----------------------------------------------------------------------

    def sco(self, object_type: str, objects: dict[str, dict[str, Any]]) -> str:
        """Add one SCO of the type (and the SCOs it references) to ``objects``; its id."""
        r = self.rng
        obj: dict[str, Any] = {"type": object_type, "spec_version": "2.1"}
        if object_type == "ipv4-addr":
            obj["value"] = self.value("ip")
        elif object_type == "domain-name":
            obj["value"] = self.value("domain")
            if r.random() < 0.6:
                obj["resolves_to_refs"] = [
                    self.sco("ipv4-addr", objects) for _ in range(r.randint(1, 2))
                ]
        elif object_type == "network-traffic":
            obj["dst_ref"] = self.sco("ipv4-addr", objects)
            if r.random() < 0.7:
                obj["src_ref"] = self.sco("ipv4-addr", objects)
            obj["dst_port"] = self.value("int")
            obj["protocols"] = r.sample(PROTOCOLS, r.randint(1, 3))
            if r.random() < 0.5:
                obj["is_active"] = self.value("bool")
            if r.random() < 0.5:
                obj["start"] = self.value("stamp")
        elif object_type == "file":
            if r.random() < 0.8:
                obj["name"] = self.value("text")
            if r.random() < 0.5:
                obj["size"] = self.value("int")
            hashes = {}
            if r.random() < 0.5:
                hashes["MD5"] = self.value("md5")
            if r.random() < 0.5:
                hashes["SHA-256"] = self.value("sha256")
            if hashes:
                obj["hashes"] = hashes
            if r.random() < 0.3:
                obj["magic_number_hex"] = self.value("hex")
        else:
            obj["value"] = self.value("url")
        key = f"{object_type}--{uuid.UUID(int=r.getrandbits(128), version=4)}"
        obj["id"] = key
        objects[key] = obj
        return key

    def observations(self) -> list[Observation]:
        r = self.rng
        found: list[Observation] = []
        for n in range(r.randint(1, 4)):
            objects: dict[str, dict[str, Any]] = {}
            for _ in range(r.randint(1, 2)):
                self.sco(
                    r.choice(["ipv4-addr", "domain-name", "network-traffic", "file", "url"]),
                    objects,
                )
            first = r.randint(0, 20)
            last = first + r.choice([0, 0, 1, 3])
            found.append(
                Observation(
                    objects,
                    BASE + first * 1_000_000,
                    BASE + last * 1_000_000,
                    r.choice([1, 1, 1, 2, 3]),
                    f"observed-data--{uuid.UUID(int=n, version=4)}",
                )
            )
        return found


def _stamp(second: int) -> TimestampLiteral:
    text = f"2024-01-01T00:00:{second:02d}Z"
    return TimestampLiteral(text, parse_timestamp_us(text))


def _iso(micros: int) -> str:
    seconds, fraction = divmod(micros - BASE, 1_000_000)
    minute, second = divmod(seconds, 60)
    return f"2024-01-01T00:{minute:02d}:{second:02d}.{fraction:06d}Z"


def as_bundle(observations: list[Observation]) -> dict[str, Any]:
    """The observations as one STIX 2.1 bundle of observed-data and SCOs (stix2-matcher's input)."""
    objects: list[dict[str, Any]] = []
    for observation in observations:
        objects.append(
            {
                "type": "observed-data",
                "spec_version": "2.1",
                "id": observation.ref,
                "created": "2024-01-01T00:00:00Z",
                "modified": "2024-01-01T00:00:00Z",
                "first_observed": _iso(observation.first_us),
                "last_observed": _iso(observation.last_us),
                "number_observed": observation.number,
                "object_refs": list(observation.objects),
            }
        )
        objects.extend(dict(obj) for obj in observation.objects.values())
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
