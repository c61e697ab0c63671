"""Words in messages: counts with the right noun ("1 row", "2 rows") and the indefinite
article by sound ("a PHQ-9", "an ISI", "an NRS pain", "a 6MWT")."""

from __future__ import annotations

import re


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 row', '2 rows', '1,024 rows'; ``nouns`` for an irregular plural."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"


# Letters whose names start with a vowel sound, as an abbreviation is read out
# ("an F", "an M", "an S"): "an ODI", "an RMDQ", "an NRS pain", "an SF-36".
_VOWEL_LETTER_NAMES = set("AEFHILMNORSX")
# Words that start with a vowel letter but a consonant sound, and the reverse.
_CONSONANT_SOUND = ("uni", "use", "usu", "uti", "ure", "uro", "eu", "one", "once", "ubi")
_SILENT_H = ("hour", "honest", "honour", "honor", "heir")
_FIRST = re.compile(r"[A-Za-z]+|\d+")


def _an(word: str) -> bool:
    first = _FIRST.search(word)
    if first is None:
        return False
    token = first.group()
    if token.isdigit():  # as read out: "an 8-item", "an 11-point", "a 6MWT"
        return token.startswith("8") or (token[:2] in ("11", "18") and len(token) in (2, 5, 6))
    if len(token) > 1 and token.isupper() or len(token) == 1:  # an abbreviation, read letter by letter
        return token[0].upper() in _VOWEL_LETTER_NAMES
    lower = token.lower()
    if lower.startswith(_SILENT_H):
        return True
    if lower.startswith(_CONSONANT_SOUND):
        return False
    return lower[0] in "aeiou"


def a(noun: str) -> str:
    """The noun with its indefinite article: 'a PHQ-9', 'an ISI', 'an hour'."""
    return f"{'an' if _an(noun) else 'a'} {noun}"
