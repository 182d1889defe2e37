"""Translation catalogues: every word the report shows, one YAML file per language.

``en.yaml`` is the reference; another language's file has the same keys, and a key it lacks
falls back to English (the tests check that none is missing). Names from a scenario (designs,
roles, steps) are translated when the catalogue knows them and shown as written otherwise.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["LANGUAGES", "Catalogue", "catalogue", "flat_keys"]

#: Languages with a catalogue, the first being the reference.
LANGUAGES = ("en", "ja")
_DIR = Path(__file__).resolve().parent


def _load(lang: str) -> dict[str, Any]:
    with open(_DIR / f"{lang}.yaml", encoding="utf-8") as fh:
        catalogue: dict[str, Any] = yaml.safe_load(fh)
    return catalogue


def flat_keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    """Every leaf key of a nested mapping, dotted (``report.title``); empty tables have none."""
    keys: set[str] = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            keys |= flat_keys(value, path + ".")
        else:
            keys.add(path)
    return keys


class Catalogue:
    """The words of one language, looked up by dotted key."""

    def __init__(self, lang: str, entries: dict[str, Any], fallback: Catalogue | None = None):
        self.lang = lang
        self.entries = entries
        self.fallback = fallback

    def _get(self, key: str) -> Any:
        node: Any = self.entries
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def t(self, key: str, **values: Any) -> str:
        """The text at ``key`` with ``{placeholders}`` filled; KeyError if no catalogue has it."""
        text = self._get(key)
        if text is None:
            if self.fallback is None:
                raise KeyError(f"no text for {key!r} in the {self.lang} catalogue")
            return self.fallback.t(key, **values)
        return str(text).format(**values) if values else str(text)

    def mapping(self, key: str) -> dict[str, str]:
        """A whole table (e.g. ``effects``), keys as written, this language over English."""
        base = self.fallback.mapping(key) if self.fallback else {}
        own = self._get(key) or {}
        return {**base, **{str(k): str(v) for k, v in own.items()}}

    def name(self, group: str, key: str) -> str:
        """A design, role, step, reason, segment, channel, field or value name, translated if known."""
        table = self._get(f"names.{group}") or {}
        if key in table:
            return str(table[key])
        if self.fallback is not None:
            return self.fallback.name(group, key)
        return key

    def design(self, key: str) -> str:
        return self.name("designs", key)

    def role(self, key: str) -> str:
        """A role's name; a role no catalogue names reads as words (``smb_ae`` -> ``SMB AE``)."""
        name = self.name("roles", key)
        if name != key:
            return name
        words = key.replace("-", "_").split("_")
        text = " ".join(w.upper() if w in _ACRONYMS else w for w in words if w)
        return text[:1].upper() + text[1:] if text else key

    @property
    def money_style(self) -> str:
        return self.t("meta.money_style")

    def join(self, items: list[str]) -> str:
        return self.t("meta.list_separator").join(items)


#: Parts of a role's id that are written in capitals.
_ACRONYMS = {"ai", "ae", "sdr", "bdr", "csm", "cs", "smb", "mm", "ent", "se", "am", "kam", "pql", "mql"}


@cache
def catalogue(lang: str = "en") -> Catalogue:
    """The catalogue of ``lang`` (one of :data:`LANGUAGES`)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    english = Catalogue("en", _load("en"))
    return english if lang == "en" else Catalogue(lang, _load(lang), fallback=english)
