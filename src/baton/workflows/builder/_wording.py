"""The idea's text made regular before it is read: signs in words, parentheses in phrases, the language.

"qty >= 0" reads as "quantity at least 0", "≤ 30" as "at most 30", "1-5" as "from 1 to 5"; "(unique)" marks
the field before it; "(sku, qty >= 0)" after a plural noun lists its fields: it becomes a phrase of its own
("items with sku, quantity at least 0") and the sentence reads on without it, so the next noun is not read as
one of the fields; "(draft, published or archived)" after a field lists its choices. An idea in another
language is refused with a message that says so.
"""

from __future__ import annotations

import re

from baton.core.errors import InvalidInputError
from baton.workflows.builder._draft import Draft
from baton.workflows.builder._naming import looks_plural, singular
from baton.workflows.builder._words import FIELD_WORDS

_PAREN_LIST = re.compile(
    r"\(\s*((?:one of |either )?[a-z][a-z _-]*(?:\s*(?:,|\bor\b|\band\b)\s*[a-z][a-z _-]*)+)\s*\)"
)
# "a plate (unique)", "an email (must be unique)", "a subtitle (optional)": a mark of the field before
_FIELD_MARK = re.compile(
    r"\b([a-z_]+)\s+([a-z_]+)\s*\(\s*(unique|must be unique|is unique|optional|required|mandatory)\s*\)"
)
_MARKS = ("unique", "optional", "required")
# "items (sku, qty >= 0)": the fields of the plural noun before; the phrase ends after them
_FIELD_PAREN = re.compile(r"\b([a-z_]+)\s*\(([^()]*)\)")
_SIGNS = [
    (re.compile(r"\s*(?:>=|≥|=>)\s*"), " at least "),
    (re.compile(r"\s*(?:<=|≤|=<)\s*"), " at most "),
    (re.compile(r"\s*(?:!=|≠|<>)\s*"), " not equal to "),
    (re.compile(r"\s*>\s*(?=-?\d)"), " more than "),
    (re.compile(r"\s*<\s*(?=-?\d)"), " less than "),
]
_BOUND_WORDS = [
    (r"(?:up to|no more than|not more than|a maximum of|maximum of|maximum|max\.?)", "at most"),
    (r"(?:no less than|no fewer than|not less than|a minimum of|minimum of|minimum|min\.?)", "at least"),
]
_ABBREVIATIONS = {
    "qty": "quantity",
    "qtys": "quantities",
    "amt": "amount",
    "desc": "description",
    "no.": "number",
}


def _choice_list(match: re.Match[str]) -> str:
    """ "(requested, confirmed, cancelled)" → "one of requested, confirmed or cancelled": a field's choices."""
    body = re.sub(r"^(?:one of|either)\s+", "", match.group(1).strip())
    items = [" ".join(i.split()).replace(" ", "_") for i in re.split(r"\s*,\s*|\s+or\s+|\s+and\s+", body)]
    items = [i for i in items if i]
    if len(items) < 2:
        return match.group(0)
    return " one of " + ", ".join(items[:-1]) + " or " + items[-1]


_FIELD_ITEM = re.compile(
    r"(?:(?:unique|optional|required) )?[a-z_]+(?: [a-z_]+)?(?: (?:unique|optional|required))?"
    r"(?: in (?:square |cubic )?[a-z]+)?"  # "(title, runtime in minutes >= 1)": the unit of a field
    r"(?: (?:at least|at most|more than|less than) -?[\d.]+| from -?[\d.]+ to -?[\d.]+)?"
)


def _paren_fields(noun: str, body: str, draft: Draft) -> str | None:
    """ "pallets (barcode, weight at least 0)": the phrase that lists the plural noun's fields ("pallets with
    barcode and weight at least 0"), or None when the parenthesis is no such list."""
    fields = [p.strip() for p in re.split(r"\s*,\s*|\s+and\s+", body.strip()) if p.strip()]
    if not looks_plural(noun) or noun in FIELD_WORDS or singular(noun) in FIELD_WORDS or not fields:
        return None
    if not all(_FIELD_ITEM.fullmatch(f) for f in fields):
        return None
    for k, item in enumerate(fields):
        for kind in _MARKS:
            if item.startswith(f"{kind} ") or item.endswith(f" {kind}"):  # "(email unique, phone optional)"
                fields[k] = item.removeprefix(f"{kind} ").removesuffix(f" {kind}")
                words = fields[k].split()
                draft.field_marks.append(("" if len(words) < 2 else words[-2], words[-1], kind))
    return f"{noun} with " + ", ".join(fields[:-1]) + (" and " if len(fields) > 1 else "") + fields[-1]


def normalise(idea: str, draft: Draft) -> str:
    """The idea in lower case, its signs in words and its parentheses read (see the module's docstring)."""
    text = " ".join(idea.lower().split())
    text = re.sub(r"\be-mail", "email", text)
    text = re.sub(r"\$\s?(\d)", r"\1", text)
    for sign, words in _SIGNS:
        text = sign.sub(words, text)
    text = re.sub(r"(?<![\d.])(\d+)\s*(?:-|–|—|\.\.)\s*(\d+)(?![\d.])", r"from \1 to \2", text)  # "1-5"
    text = text.replace("&", " and ")
    for said, bound in _BOUND_WORDS:  # "up to 11 players", "a maximum of 4 guests"
        text = re.sub(rf"\b{said}\s+(?=-?\d)", f"{bound} ", text)
    for short, long in _ABBREVIATIONS.items():
        text = re.sub(rf"(?<![\w.]){re.escape(short)}(?![\w])", long, text)
    text = re.sub(r"\bto_do\b|\bto-do\b|\bto do (?=lists?\b|apps?\b|items?\b)", "todo ", text)
    text = re.sub(r"\b([a-z]+)[-_]list\b", r"\1 list", text)  # "a todo-list": a list of todos

    def mark(match: re.Match[str]) -> str:
        said = match.group(3)
        kind = "unique" if "unique" in said else "optional" if said == "optional" else "required"
        draft.field_marks.append((match.group(1), match.group(2), kind))
        return f"{match.group(1)} {match.group(2)}"

    text = _FIELD_MARK.sub(mark, text)
    listed: list[str] = []

    def field_paren(match: re.Match[str]) -> str:
        phrase = _paren_fields(match.group(1), match.group(2), draft)
        if phrase is None:
            return match.group(0)
        listed.append(phrase)
        draft.paren_nouns.add(match.group(1))
        return match.group(1)  # "members (email unique) book classes": the sentence reads on without it

    text = _FIELD_PAREN.sub(field_paren, text)
    text = "; ".join([text.rstrip(" .;"), *listed]) if listed else text
    text = re.sub(r"\b([a-z]+)-([a-z]+)\b", r"\1_\2", text)
    return " ".join(_PAREN_LIST.sub(_choice_list, text).split())


# Function words of the languages an idea is most often written in instead of English.
_FOREIGN = frozenset(
    {
        # French
        "le", "la", "les", "des", "du", "un", "une", "et", "pour", "avec", "dans", "sur", "ou", "qui", "chaque",
        # German
        "der", "die", "das", "den", "dem", "und", "ein", "eine", "einen", "für", "mit", "von", "zu", "jeder",
        "jede", "aus",
        # Spanish, Portuguese, Italian
        "el", "los", "las", "y", "para", "con", "una", "unos", "unas", "cada", "il", "gli", "di", "che", "uma",
        "os", "com", "em", "del",
        # Dutch
        "de", "het", "een", "en", "van", "voor", "met", "op", "te", "zijn",
    }
)  # fmt: skip
_ENGLISH = frozenset(
    {
        "the", "a", "an", "and", "of", "for", "with", "to", "in", "on", "each", "every", "has", "have", "can",
        "where", "that", "which", "who", "is", "are", "their", "its", "many", "by", "from", "at", "or", "list",
        "keep", "keeps", "track", "tracks", "store", "stores", "belongs", "per", "users", "app",
    }
)  # fmt: skip


# articles and determiners of other languages: never the first word of an entity's name ("des plats")
FOREIGN_ARTICLES = frozenset(
    {
        "des", "les", "le", "la", "du", "une", "der", "die", "das", "den", "dem", "ein", "eine", "el", "los", "las",
        "una", "unos", "unas", "il", "gli", "uma", "os",
    }
)  # fmt: skip


def check_english(idea: str, *, strict: bool = False) -> None:
    """Refuse an idea written in another language: the rules read English words only. ``strict``: refuse as
    well an idea with no English word at all (said when nothing else in it could be read)."""
    words = re.findall(r"[^\W\d_]+", idea.lower())
    foreign = sum(1 for w in words if w in _FOREIGN)
    english = sum(1 for w in words if w in _ENGLISH)
    accented = sum(1 for w in words if not w.isascii())
    if (foreign + accented >= 2 and foreign + accented > 2 * english) or (
        strict and english == 0 and foreign + accented >= 1
    ):
        raise InvalidInputError(
            f"the idea {quote(idea)} does not look like English: only ideas in English are understood",
            fields={"idea": "not English"},
            hint="describe the service in English, e.g. 'A REST API for a small library: books, authors and "
            "loans; members borrow books', or write spec.yaml and pass --spec",
        )


def quote(idea: str, limit: int = 80) -> str:
    """The idea quoted, shortened at a word boundary ("…" where it was cut), never mid-word."""
    text = " ".join(idea.split())
    if len(text) <= limit:
        return f"'{text}'"
    cut = text[: limit + 1].rsplit(" ", 1)[0].rstrip(",;:")
    return f"'{cut} …'"
