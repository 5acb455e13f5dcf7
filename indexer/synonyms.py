"""Synonym enrichment: turn cryptic identifiers into the words a person would use in a question."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# Common schema abbreviations. A team's own (schema docs `abbreviations`) extend and override these.
ABBREVIATIONS: dict[str, str] = {
    "acct": "account",
    "addr": "address",
    "adm": "administrative",
    "admin": "administrative",
    "agg": "aggregate",
    "amt": "amount",
    "app": "application",
    "approx": "approximate",
    "att": "attempt",
    "attr": "attribute",
    "auth": "author",
    "avail": "available",
    "avg": "average",
    "bal": "balance",
    "bday": "birthday",
    "bw": "bandwidth",
    "cat": "category",
    "cfg": "configuration",
    "cnt": "count",
    "cntry": "country",
    "co": "company",
    "conf": "conference",
    "conn": "connection",
    "cust": "customer",
    "cd": "code",
    "cur": "current",
    "curr": "currency",
    "del": "deleted",
    "dept": "department",
    "desc": "description",
    "dest": "destination",
    "dl": "downlink",
    "dob": "date of birth",
    "doc": "document",
    "dt": "date",
    "dur": "duration",
    "emp": "employee",
    "enb": "enodeb",
    "estab": "establishment",
    "exp": "expiry",
    "ext": "extension",
    "fk": "foreign key",
    "fname": "first name",
    "freq": "frequency",
    "gnb": "gnodeb 5g base station",
    "grp": "group",
    "hr": "hour",
    "hrs": "hours",
    "id": "identifier",
    "idx": "index",
    "img": "image",
    "info": "information",
    "inv": "invoice",
    "lang": "language",
    "lat": "latitude",
    "lname": "last name",
    "lng": "longitude",
    "loc": "location",
    "lon": "longitude",
    "max": "maximum",
    "me": "managed element",
    "mgr": "manager",
    "min": "minimum",
    "mob": "mobile",
    "msg": "message",
    "mth": "month",
    "nat": "nationality",
    "nbr": "number",
    "no": "number",
    "num": "number",
    "nr": "new radio 5g",
    "org": "organization",
    "pct": "percent",
    "perf": "performance",
    "pm": "performance measurement",
    "pmt": "payment",
    "pos": "position",
    "pref": "preference",
    "prev": "previous",
    "prod": "product",
    "pwd": "password",
    "qty": "quantity",
    "rcv": "received",
    "ref": "reference",
    "reg": "region",
    "rel": "release",
    "req": "request",
    "rev": "revenue",
    "rm": "room",
    "sal": "salary",
    "seq": "sequence",
    "sev": "severity",
    "src": "source",
    "st": "street",
    "stat": "status",
    "std": "standard",
    "stu": "student",
    "succ": "success",
    "sw": "software",
    "sys": "system",
    "tel": "telephone",
    "temp": "temperature",
    "tm": "time",
    "ts": "timestamp",
    "tot": "total",
    "tx": "transmit",
    "rx": "receive",
    "txn": "transaction",
    "ul": "uplink",
    "usr": "user",
    "util": "utilisation",
    "val": "value",
    "ver": "version",
    "vol": "volume",
    "wk": "week",
    "yr": "year",
    "zip": "postal code",
}

# Words that occur inside run-together identifiers (`celllocalid`, `operationalstate`); with the
# abbreviations they let the segmenter split an identifier that has no separators at all.
_COMMON_WORDS = set(
    [
        "account",
        "active",
        "address",
        "administrative",
        "age",
        "amount",
        "area",
        "avail",
        "available",
        "band",
        "base",
        "bit",
        "birth",
        "cell",
        "channel",
        "city",
        "class",
        "code",
        "count",
        "country",
        "created",
        "date",
        "day",
        "department",
        "description",
        "device",
        "end",
        "event",
        "first",
        "flag",
        "frequency",
        "function",
        "id",
        "identifier",
        "last",
        "length",
        "level",
        "line",
        "local",
        "location",
        "mode",
        "month",
        "name",
        "node",
        "number",
        "operational",
        "order",
        "owner",
        "period",
        "physical",
        "price",
        "rate",
        "region",
        "result",
        "role",
        "sales",
        "size",
        "start",
        "state",
        "status",
        "time",
        "total",
        "type",
        "unit",
        "user",
        "value",
        "version",
        "width",
        "year",
    ]
)

_SPLIT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def split_identifier(name: str) -> list[str]:
    """`pmRrcConnEstabSucc` -> pm rrc conn estab succ; `order_2_items` -> order 2 items."""
    return [part.lower() for chunk in re.split(r"[\W_]+", name) for part in _SPLIT.findall(chunk)]


@lru_cache(maxsize=32)
def _vocabulary(extra: frozenset[str]) -> frozenset[str]:
    return frozenset(ABBREVIATIONS) | _COMMON_WORDS | extra


def segment(token: str, vocabulary: frozenset[str]) -> list[str]:
    """Split a run-together token into known pieces (`nrcelldu` -> nr cell du) with the fewest pieces.

    A token that cannot be covered entirely by known pieces is kept whole: a wrong split is worse than none.
    """
    if token in vocabulary or len(token) < 5 or token.isdigit():
        return [token]
    best: list[list[str] | None] = [[]] + [None] * len(token)
    for end in range(1, len(token) + 1):
        for start in range(max(0, end - 14), end):
            piece = token[start:end]
            prefix = best[start]
            if prefix is not None and piece in vocabulary and len(piece) >= 2:
                candidate = [*prefix, piece]
                if best[end] is None or len(candidate) < len(best[end]):
                    best[end] = candidate
    pieces = best[len(token)]
    return pieces if pieces and len(pieces) <= 5 else [token]


class Enricher:
    """Words for identifiers, from splitting, abbreviations (built-in and the team's) and the glossary."""

    def __init__(self, abbreviations: dict[str, str] | None = None, known_words: Iterable[str] = ()) -> None:
        self.abbreviations = {**ABBREVIATIONS, **{k.lower(): v for k, v in (abbreviations or {}).items()}}
        self.vocabulary = _vocabulary(
            frozenset(w.lower() for w in known_words) | frozenset(self.abbreviations)
        )

    def words(self, identifier: str) -> list[str]:
        """The identifier's pieces, each followed by its expansion when it is an abbreviation."""
        out: list[str] = []
        for part in split_identifier(identifier):
            for piece in segment(part, self.vocabulary):
                out.append(piece)
                expansion = self.abbreviations.get(piece)
                if expansion and expansion != piece:
                    out.append(expansion)
        return out

    def phrase(self, identifier: str) -> str:
        return " ".join(dict.fromkeys(self.words(identifier)))
