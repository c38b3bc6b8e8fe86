"""The 自治体標準オープンデータセット (the Digital Agency's municipal standard open datasets) that Toshi
knows: for each, the entity type it becomes (aligned with the geolonia/datamodels catalogue where it
has one, e.g. EvacuationSite for sheet 03) and its columns, in the standard's order, with the
attribute each column fills.

A column fills an attribute as a whole, one member of a structured value (`key`: the address parts
fill `address`), or one flag of a list (`flag`: the eight 災害種別 columns fill `hazardTypes`). The
columns 緯度/経度 make the entity's `location`. Columns a town adds beyond the standard are kept in
`otherColumns` (header -> text) so that a CSV comes back out with every column it went in with."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

TEXT, INTEGER, NUMBER, DATE, TIME, FLAG, YESNO, CODE, LIST, LATITUDE, LONGITUDE = (
    "text", "integer", "number", "date", "time", "flag", "yesno", "code", "list", "latitude", "longitude")
KINDS = (TEXT, INTEGER, NUMBER, DATE, TIME, FLAG, YESNO, CODE, LIST, LATITUDE, LONGITUDE)
LOCATION = "location"
OTHER_COLUMNS = "otherColumns"
CODE_HEADER, ID_HEADER = "全国地方公共団体コード", "ID"


@dataclass(frozen=True)
class Column:
    header: str
    attr: str
    kind: str = TEXT
    required: bool = False
    key: str | None = None   # the member of a structured value this column fills
    flag: str | None = None  # the member of a list this column (1 or blank) stands for


@dataclass(frozen=True)
class Standard:
    id: str                 # Toshi's id of the standard dataset (the dataset's `standard`)
    number: str             # the sheet number in the Digital Agency's definitions
    title_ja: str
    title_en: str
    type: str               # the NGSI-LD entity type its rows become
    columns: tuple[Column, ...]

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def column(self, header: str) -> Column | None:
        return self._by_header.get(header)

    @cached_property
    def _by_header(self) -> dict[str, Column]:
        return {c.header: c for c in self.columns}

    @property
    def attrs(self) -> list[str]:
        """The attributes its entities have, in column order (location once)."""
        return list(dict.fromkeys(c.attr for c in self.columns))


def _head(name_required: bool = True) -> tuple[Column, ...]:
    return (Column(CODE_HEADER, "localGovernmentCode", CODE, required=True),
            Column(ID_HEADER, "externalId", required=True),
            Column("地方公共団体名", "localGovernmentName"),
            Column("名称", "name", required=name_required),
            Column("名称_カナ", "nameKana"),
            Column("名称_英字", "nameEn"))


ADDRESS = (
    Column("所在地_全国地方公共団体コード", "address", CODE, key="localGovernmentCode"),
    Column("町字ID", "address", key="abrMachiazaId"),
    Column("所在地_連結表記", "address", key="addressText"),
    Column("所在地_都道府県", "address", key="addressRegion"),
    Column("所在地_市区町村", "address", key="addressLocality"),
    Column("所在地_町字", "address", key="machiaza"),
    Column("所在地_番地以下", "address", key="banchi"),
    Column("建物名等(方書)", "address", key="buildingName"),
    Column("緯度", LOCATION, LATITUDE),
    Column("経度", LOCATION, LONGITUDE),
)
CONTACT = (
    Column("電話番号", "telephone"),
    Column("内線番号", "telephoneExtension"),
    Column("連絡先メールアドレス", "email"),
    Column("連絡先FormURL", "contactFormUrl"),
    Column("連絡先備考（その他、SNSなど）", "contactNote"),
    Column("郵便番号", "postalCode"),
)
HOURS = (
    Column("利用可能曜日", "availableDays"),
    Column("開始時間", "opens", TIME),
    Column("終了時間", "closes", TIME),
    Column("利用可能日時特記事項", "hoursNote"),
)
TAIL = (
    Column("画像", "image"),
    Column("画像_ライセンス", "imageLicense"),
    Column("URL", "url"),
    Column("備考", "description"),
)
HAZARDS = (("洪水", "flood"), ("崖崩れ、土石流及び地滑り", "landslide"), ("高潮", "stormSurge"),
           ("地震", "earthquake"), ("津波", "tsunami"), ("大規模な火事", "greatFire"),
           ("内水氾濫", "inlandFlood"), ("火山現象", "eruption"))

PUBLIC_FACILITIES = Standard(
    "jp-standard-01-public-facilities", "01", "公共施設一覧", "Public facilities", "PublicFacility",
    (*_head(), Column("名称_通称", "alternateName"), Column("POIコード", "poiCode"), *ADDRESS,
     Column("高さ", "height", NUMBER), *CONTACT, Column("開始時間", "opens", TIME),
     Column("終了時間", "closes", TIME), Column("利用可能日時特記事項", "hoursNote"),
     Column("料金（基本）", "feeBasic"), Column("料金（詳細）", "feeDetail"), Column("説明", "descriptionJa"),
     Column("説明_英語", "descriptionEn"), Column("バリアフリー情報", "accessibility"), *TAIL))

EVACUATION_SITES = Standard(
    "jp-standard-03-evacuation-sites", "03", "指定緊急避難場所一覧", "Designated emergency evacuation sites",
    "EvacuationSite",
    (*_head(), *ADDRESS, Column("標高", "elevation", NUMBER), Column("電話番号", "telephone"),
     *(Column(f"災害種別_{ja}", "hazardTypes", FLAG, flag=en) for ja, en in HAZARDS),
     Column("指定避難所との重複", "alsoDesignatedShelter", FLAG, flag="shelter"),
     Column("想定収容人数", "maxCapacity", INTEGER), Column("対象となる町会・自治会", "targetAreas", LIST),
     *TAIL))

CHILDCARE = Standard(
    "jp-standard-05-childcare-facilities", "05", "子育て施設一覧", "Childcare facilities", "ChildcareFacility",
    (*_head(), Column("種別", "category"), *ADDRESS, *CONTACT, Column("FAX番号", "faxNumber"),
     Column("法人番号", "corporateNumber"), Column("団体名", "operator"), *HOURS,
     Column("定員", "capacity", INTEGER), Column("受入年齢", "acceptedAges"), *TAIL))

AED = Standard(
    "jp-standard-08-aed", "08", "AED設置箇所一覧", "AED locations", "AEDLocation",
    (*_head(), *ADDRESS, Column("設置位置", "placement", required=True), *CONTACT[:2],
     Column("法人番号", "corporateNumber"), Column("団体名", "operator"), *HOURS,
     Column("小児対応設備の有無", "pediatricSupport", YESNO), *TAIL))

EVENTS = Standard(
    "jp-standard-12-events", "12", "イベント一覧", "Events", "Event",
    (Column(CODE_HEADER, "localGovernmentCode", CODE, required=True),
     Column(ID_HEADER, "externalId", required=True),
     Column("地方公共団体名", "localGovernmentName"),
     Column("イベント名", "name", required=True), Column("イベント名_カナ", "nameKana"),
     Column("イベント名_英字", "nameEn"), Column("開始日", "startDate", DATE, required=True),
     Column("終了日", "endDate", DATE), Column("開始時間", "startTime", TIME), Column("終了時間", "endTime", TIME),
     Column("開始日時特記事項", "scheduleNote"), Column("説明", "descriptionJa"),
     Column("料金（基本）", "feeBasic"), Column("料金（詳細）", "feeDetail"),
     Column("連絡先名称", "contactName"), Column("連絡先電話番号", "telephone"),
     Column("連絡先内線番号", "telephoneExtension"), Column("主催者", "organizer"),
     Column("場所名称", "venueName"), *ADDRESS, Column("定員", "capacity", INTEGER),
     Column("参加申込終了日", "applicationDeadline", DATE), Column("参加申込方法", "applicationMethod"),
     Column("参加申込ページ", "applicationUrl"), *TAIL))

def custom(entity_type: str, mapping: dict[str, str], id_header: str) -> Standard:
    """A town's own CSV: `mapping` is header -> "attr" or "attr:kind" (kinds as above; `location:latitude`
    and `location:longitude` make the location), `id_header` the column that identifies a row."""
    columns = []
    for header, target in mapping.items():
        attr, _, kind = target.partition(":")
        kind = kind or TEXT
        if kind not in KINDS or kind == FLAG or not attr:
            raise ValueError(f"column {header!r}: give attr or attr:kind (kinds: {', '.join(k for k in KINDS if k != FLAG)})")
        if kind in (LATITUDE, LONGITUDE) and attr != LOCATION:
            raise ValueError(f"column {header!r}: latitude and longitude fill location (location:{kind})")
        columns.append(Column(header, attr, kind, required=header == id_header))
    if id_header not in mapping:
        raise ValueError(f"the id column {id_header!r} must be one of the mapped columns")
    return Standard("", "", entity_type, entity_type, entity_type, tuple(columns))


STANDARDS = {s.id: s for s in (PUBLIC_FACILITIES, EVACUATION_SITES, CHILDCARE, AED, EVENTS)}


def standard(standard_id: str) -> Standard:
    found = STANDARDS.get(standard_id)
    if found is None:
        raise LookupError(f"unknown standard dataset {standard_id!r} (known: {', '.join(STANDARDS)})")
    return found


def recognise(headers: list[str]) -> Standard | None:
    """The standard whose required columns the headers all have and which knows most of them."""
    given = set(headers)
    candidates = [s for s in STANDARDS.values() if all(c.header in given for c in s.columns if c.required)]
    if not candidates:
        return None
    return max(candidates, key=lambda s: len(given.intersection(s.headers)))
