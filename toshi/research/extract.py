"""An extract for research: one recipient, one purpose, one declared entity type.

    {"recipient": "acct_univ", "purpose": "health-research", "type": "HealthCheckup", "k": 5,
     "quasiIdentifiers": {"checkupDate": "month", "location": "grid:0.05", "age": "band:10"},
     "attributes": ["bmi", "systolic"]}

Only residents holding a consent in force for that recipient and purpose are read, through the
consent layer as the recipient (toshi.consent.RecipientView): a record goes in only when every named
column is released to the recipient for it. Each record gets the resident's pseudonym for the
recipient (toshi/research/pseudonyms.py) instead of any id; quasi-identifiers are generalised
(generalise.py); combinations shared by fewer than k residents are suppressed (kanonymity.py). The
manifest says what was extracted, under which consents, with which k, and how many records were
read, left out and suppressed; it is signed as a compact JWS with the town's key (verifiable with
/.well-known/jwks.json) and names the SHA-256 of the CSV, so neither can be altered unnoticed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass

import jwt
import orjson

from toshi.consent import RecipientView
from toshi.core.progress import Progress
from toshi.core.signing import ALGORITHM, SigningKey
from toshi.core.times import now_iso
from toshi.jsonld.context import core_context
from toshi.research.generalise import rule_of
from toshi.research.kanonymity import k_anonymous
from toshi.research.pseudonyms import Pseudonyms

MEMBERS = {"recipient", "purpose", "type", "k", "quasiIdentifiers", "attributes", "description"}
PSEUDONYM = "pseudonym"
MAX_K = 1000
MANIFEST_VERSION = "toshi-extract/1"
PROGRESS_EVERY = 1000  # records between two progress reports


@dataclass(frozen=True)
class Spec:
    recipient: str
    purpose: str
    type: str
    k: int
    quasi: dict[str, str]
    attributes: list[str]
    description: str = ""


@dataclass(frozen=True)
class Extract:
    csv: str
    manifest: dict
    jws: str


def check_spec(body: object) -> Spec:
    """The spec of an extract (ValueError when malformed)."""
    if not isinstance(body, dict):
        raise ValueError("an extract's spec is a JSON object")
    if unknown := set(body) - MEMBERS:
        raise ValueError(f"unknown member(s): {', '.join(sorted(unknown))} (members: {', '.join(sorted(MEMBERS))})")
    for key in ("recipient", "purpose", "type"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            raise ValueError(f"{key} is required: a non-empty string")
    k = body.get("k")
    if not isinstance(k, int) or isinstance(k, bool) or not 2 <= k <= MAX_K:
        raise ValueError(f"k must be an integer from 2 to {MAX_K}")
    quasi = body.get("quasiIdentifiers")
    if not isinstance(quasi, dict) or not quasi:
        raise ValueError("quasiIdentifiers must map at least one attribute to its generalisation")
    for name, rule in quasi.items():
        rule_of(rule)  # ValueError names what is wrong
        if not name or name == PSEUDONYM:
            raise ValueError(f"quasi-identifier {name!r}: not an attribute name")
    attributes = body.get("attributes", [])
    if not isinstance(attributes, list) or not all(isinstance(a, str) and a for a in attributes):
        raise ValueError("attributes must be an array of attribute names")
    if both := set(attributes) & set(quasi):
        raise ValueError(f"{', '.join(sorted(both))}: named both as a quasi-identifier and an attribute")
    if len(set(attributes)) != len(attributes) or PSEUDONYM in attributes:
        raise ValueError("attributes must be distinct attribute names")
    return Spec(body["recipient"], body["purpose"], body["type"], k, dict(quasi), list(attributes),
                body.get("description") if isinstance(body.get("description"), str) else "")


async def make_extract(spec: Spec, view: RecipientView, secret: bytes, key: SigningKey, made_by: str,
                       progress: Progress | None = None) -> Extract:
    """The extract of `spec` (ValueError when the type is not declared personal data); `progress` hears
    of the records read and generalised."""
    consented = await view.entities(spec.type, progress)
    ctx = core_context()
    rules = {name: rule_of(rule) for name, rule in spec.quasi.items()}
    expanded = {name: ctx.expand_term(name) for name in (*spec.quasi, *spec.attributes)}
    pseudonyms = Pseudonyms(secret, view.tenant, spec.recipient)
    rows, items, incomplete = [], [], 0
    for done, item in enumerate(consented):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress("generalising records", done, len(consented))
        row = _row(item.entity, rules, spec.attributes, expanded)
        if row is None:
            incomplete += 1
            continue
        row[PSEUDONYM] = pseudonyms.of(item.subject)
        rows.append(row)
        items.append(item)
    if progress is not None:
        progress("generalising records", len(consented), len(consented))
    kept, suppressed = k_anonymous(rows, list(spec.quasi), spec.k, PSEUDONYM)
    kept_ids = {id(row) for row in kept}
    consents = set()
    for row, item in zip(rows, items):
        if id(row) in kept_ids:
            view.released(item, list(expanded.values()))
            consents.update(item.consents)
    text = _csv(kept, [PSEUDONYM, *spec.quasi, *spec.attributes])
    manifest = {
        "manifestVersion": MANIFEST_VERSION, "id": "urn:toshi:extract:" + secrets.token_hex(8),
        "createdAt": now_iso(), "createdBy": made_by, "tenant": view.tenant, "recipient": spec.recipient,
        "purpose": spec.purpose, "type": spec.type, "description": spec.description,
        "k": spec.k, "quasiIdentifiers": spec.quasi, "attributes": spec.attributes,
        "pseudonymisation": "HMAC-SHA-256 of the resident id under a key derived for this recipient "
                            "(stable per recipient, unrelated between recipients)",
        "kAnonymity": "every released combination of quasi-identifiers is shared by at least k residents",
        "consents": sorted(consents),
        "counts": {"consenting": len(consented), "incomplete": incomplete, "suppressed": suppressed,
                   "released": len(kept), "residents": len({row[PSEUDONYM] for row in kept})},
        "csv": {"sha256": hashlib.sha256(text.encode()).hexdigest(), "columns": [PSEUDONYM, *spec.quasi,
                                                                             *spec.attributes]},
    }
    return Extract(text, manifest, sign(manifest, key))


def _row(entity: dict, rules: dict, attributes: list[str], expanded: dict[str, str]) -> dict | None:
    """The record's generalised quasi-identifiers and its attributes, None when one is not released."""
    row = {}
    for name, rule in rules.items():
        value = rule(_value(entity, expanded[name]))
        if value is None:
            return None
        row[name] = value
    for name in attributes:
        value = _value(entity, expanded[name])
        if value is None:
            return None
        row[name] = value if isinstance(value, str) else orjson.dumps(value).decode()
    return row


def _value(entity: dict, attr: str):
    """The value of the attribute's default instance (a Relationship's object), None when absent."""
    instances = entity["attrs"].get(attr) or ()
    instance = next((i for i in instances if "datasetId" not in i), None)
    if instance is None:
        return None
    for key in ("value", "object", "json", "valueList", "languageMap", "vocab"):
        if key in instance:
            return instance[key]
    return None


def _csv(rows: list[dict], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in sorted(rows, key=lambda r: [r[c] for c in columns]):  # no order that hints at who came first
        writer.writerow([row[c] for c in columns])
    return out.getvalue()


def sign(manifest: dict, key: SigningKey) -> str:
    return jwt.encode(manifest, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"})


def verify(jws: str, jwks: dict) -> dict:
    """The manifest a JWS carries, if a key of the JWKS signed it (jwt.PyJWTError otherwise)."""
    kid = jwt.get_unverified_header(jws).get("kid")
    found = next((k for k in jwks.get("keys", ()) if k.get("kid") == kid), None)
    if found is None:
        raise jwt.InvalidKeyError(f"no key {kid!r} in the JWKS")
    return jwt.decode(jws, jwt.PyJWK(found).key, algorithms=[ALGORITHM], options={"require": []})
