"""The features of this Toshi, in the order their routes are tried and they start (they stop in
reverse). Adding a feature: its folder with a `feature.py` (toshi/core/feature.py says what it may
declare), and one line here."""

from toshi.audit.feature import Audit
from toshi.auth.feature import Auth
from toshi.catalogue.feature import Catalogue
from toshi.consent.feature import Consent
from toshi.csources.feature import ContextSources
from toshi.currency.feature import Currency
from toshi.health.feature import Health
from toshi.iot.feature import Iot
from toshi.jsonld.feature import Contexts
from toshi.mobility.feature import Mobility
from toshi.ngsild.feature import NgsiLd
from toshi.ngsiv2.feature import NgsiV2
from toshi.notify.feature import Notifications
from toshi.operations.feature import Operations
from toshi.ops.feature import Ops
from toshi.research.feature import Research
from toshi.subscriptions.feature import LdSubscriptions
from toshi.temporal.feature import Temporal
from toshi.town.feature import Town
from toshi.watchover.feature import Watchover
from toshi.web.feature import Web

FEATURES = [
    Ops,              # first: its access log and request metrics see every answer, refusals included
    NgsiV2,           # the hot APIs first: /v2 is one prefix check
    NgsiLd,
    Contexts,
    Notifications,
    LdSubscriptions,
    ContextSources,   # context source registrations, their subscriptions, distributed operations
    Temporal,
    Iot,
    Web,              # before auth: its middleware turns a browser session into credentials for the gate
    Consent,          # before auth: its purpose middleware runs outside the request gate
    Auth,
    Audit,
    Operations,
    Catalogue,
    Research,         # research extracts: reads through the consent feature's public interface
    Watchover,        # 見守り: reads as its own identity through the read path, alerts through the write path
    Mobility,         # オンデマンド交通: POST /mobility/plan on the caller's read and write paths (VROOM)
    Health,           # 健康: check-ups of consenting residents -> a documented risk indicator for them
    Currency,         # 地域通貨: a double-entry ledger in its own tables, idempotent payments, reconciliation
    Town,             # the demo town: `toshi demo`; its programs are clients of the public APIs
]
