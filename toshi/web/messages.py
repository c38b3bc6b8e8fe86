"""The pages' words in Japanese (first) and English: one JSON catalogue per language
(toshi/web/messages/{ja,en}.json, the same keys). The page's language is the visitor's choice (a
cookie set by the language switch), else the browser's Accept-Language, else Japanese."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import orjson

LANGUAGES = ("ja", "en")
DEFAULT = "ja"
COOKIE = "toshi_lang"
FOLDER = Path(__file__).parent / "messages"


@cache
def catalogue(lang: str) -> dict[str, str]:
    return orjson.loads((FOLDER / f"{lang}.json").read_bytes())


def language_of(cookies: dict[str, str], accept_language: str) -> str:
    chosen = cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT


class Words:
    """`words("key")` in a template: the text in the page's language (the key itself when missing,
    so a forgotten entry shows up instead of vanishing)."""

    def __init__(self, lang: str):
        self.lang = lang
        self.texts = catalogue(lang)

    def __call__(self, key: str, **values) -> str:
        text = self.texts.get(key, key)
        return text.format(**values) if values else text
