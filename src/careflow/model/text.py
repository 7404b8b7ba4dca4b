"""Texts in several languages: labels and descriptions of every element of a definition."""

from __future__ import annotations

from collections.abc import Mapping

import attrs


@attrs.frozen
class Text:
    """A text in several languages. ``get`` falls back to the default, then to any text."""

    by_language: tuple[tuple[str, str], ...] = ()
    default_language: str = "nb"

    @classmethod
    def of(cls, texts: Mapping[str, str], default_language: str = "nb") -> Text:
        return cls(tuple(sorted(texts.items())), default_language)

    def get(self, language: str | None = None) -> str:
        found = dict(self.by_language)
        for lang in (language, self.default_language):
            if lang and lang in found:
                return found[lang]
        return next(iter(found.values()), "")

    def has(self, language: str) -> bool:
        return any(lang == language for lang, _ in self.by_language)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(lang for lang, _ in self.by_language)

    def __bool__(self) -> bool:
        return bool(self.by_language)


EMPTY_TEXT = Text()
