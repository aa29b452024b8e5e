"""Language of the messages nnlab shows to students: English or Chinese.

Every student-facing message is written in both languages side by side
(:class:`Text`) and rendered in the current language, chosen with
``nnlab.set_language("zh")`` or the environment variable ``NNLAB_LANG``.
The Chinese edition of each notebook calls ``nnlab.set_language("zh")`` in
its set-up cell; figures then use a CJK font (:mod:`nnlab.fonts`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

LANGUAGES = ("en", "zh")

_language = os.environ.get("NNLAB_LANG", "en") if os.environ.get("NNLAB_LANG") in LANGUAGES else "en"


def set_language(language: str) -> None:
    """Choose the language of check messages and widget labels.

    Args:
        language: ``"en"`` (English, the default) or ``"zh"`` (中文).

    Raises:
        ValueError: for any other value.
    """
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; choose one of {', '.join(LANGUAGES)}")
    _language = language


def get_language() -> str:
    """The current message language (``"en"`` or ``"zh"``)."""
    return _language


@dataclass(frozen=True)
class Text:
    """One message in both languages; ``str()`` renders the current one.

    Attributes:
        en: the English text.
        zh: the Chinese text (falls back to English when empty).
    """

    en: str
    zh: str = ""

    def render(self, language: str | None = None) -> str:
        """The text in ``language`` (default: the current language)."""
        language = language or _language
        return self.zh if language == "zh" and self.zh else self.en

    def format(self, **values: object) -> Text:
        """Both languages with ``{name}`` placeholders filled in."""
        return Text(self.en.format(**values), self.zh.format(**values) if self.zh else "")

    def __add__(self, other: Text) -> Text:
        return Text(self.en + other.en, (self.zh or self.en) + (other.zh or other.en))

    def __str__(self) -> str:
        return self.render()


def join(parts: list[Text], sep: str = " ") -> Text:
    """Join texts language by language."""
    return Text(sep.join(p.en for p in parts), sep.join(p.zh or p.en for p in parts))
