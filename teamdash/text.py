"""Text rules shared by search and matching: one folding for every language.

``fold`` is what a search compares: Unicode case folding, compatibility decomposition
and no accents, so that ``élodie``, ``ELODIE`` and ``Élodie`` meet, ``muller`` finds
Müller, ``zoe`` finds Zoë and ``angstrom`` finds Ångström. Letters that do not
decompose into a base letter and an accent (ø, æ, ł, đ, þ, œ, ß) are spelled out as their
usual Latin transliteration.
"""

from __future__ import annotations

import unicodedata

# Letters with no decomposition that people type without the special letter.
_SPELLED = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ŀ": "l",
        "ħ": "h",
        "ŧ": "t",
    }
)


def fold(text: str) -> str:
    """``text`` as search compares it (lower case, no accents, spaces collapsed)."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(stripped.translate(_SPELLED).split())


def patient_search_key(given_name: str | None, family_name: str | None, clinic_id: str | None) -> str:
    """What a patient search matches against: both names and the clinic ID, folded."""
    return fold(" ".join(part for part in (given_name, family_name, clinic_id) if part))


def initials(full_name: str) -> str:
    """ "Robin Fennelcott" → "RF" (privacy mode on a projector shows initials, not names)."""
    return "".join(part[0].upper() for part in full_name.replace("-", " ").split() if part[0].isalpha())


class Named:
    """A person's result with ``given_name`` and ``family_name``: their full name, and
    their initials for privacy mode."""

    given_name: str
    family_name: str

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def initials(self) -> str:
        return initials(self.full_name)
