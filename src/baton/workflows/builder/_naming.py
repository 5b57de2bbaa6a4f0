"""Names in a generated project: cases, plurals, and the words that must not become identifiers.

Entity and field names end up as Python modules, classes, attributes, SQL tables and columns and
URL paths. A name is safe when it is a lowercase snake_case identifier that clashes with none of
those namespaces; :func:`name_problem` says why one is not.
"""

from __future__ import annotations

import builtins
import keyword
import re

SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# Words reserved by standard SQL, SQLite, PostgreSQL or T-SQL that are plausible as names.
SQL_RESERVED = frozenset(
    [
        "add",
        "all",
        "alter",
        "analyse",
        "analyze",
        "and",
        "any",
        "as",
        "asc",
        "authorization",
        "backup",
        "begin",
        "between",
        "both",
        "by",
        "cascade",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "commit",
        "constraint",
        "create",
        "cross",
        "current",
        "current_date",
        "current_time",
        "current_timestamp",
        "current_user",
        "database",
        "default",
        "deferrable",
        "delete",
        "desc",
        "distinct",
        "do",
        "drop",
        "else",
        "end",
        "escape",
        "except",
        "exec",
        "execute",
        "exists",
        "explain",
        "fetch",
        "file",
        "for",
        "foreign",
        "from",
        "full",
        "function",
        "grant",
        "group",
        "having",
        "identity",
        "if",
        "in",
        "index",
        "inner",
        "insert",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "key",
        "kill",
        "leading",
        "left",
        "like",
        "limit",
        "merge",
        "natural",
        "not",
        "notnull",
        "null",
        "of",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "over",
        "percent",
        "plan",
        "pragma",
        "primary",
        "procedure",
        "public",
        "raise",
        "references",
        "restrict",
        "returning",
        "revoke",
        "right",
        "rollback",
        "row",
        "rows",
        "rule",
        "schema",
        "select",
        "session_user",
        "set",
        "some",
        "table",
        "then",
        "to",
        "top",
        "trailing",
        "transaction",
        "trigger",
        "truncate",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "vacuum",
        "values",
        "view",
        "when",
        "where",
        "window",
        "with",
    ]
)

# Identifiers the generated code itself uses at module level; an entity named like one would clash.
GENERATOR_RESERVED = frozenset(
    [
        "app",
        "api",
        "audit",
        "audited_model",
        "base",
        "config",
        "database",
        "db",
        "dt",
        "engine",
        "errors",
        "field",
        "func",
        "health",
        "host",
        "main",
        "mapped",
        "model",
        "models",
        "page",
        "repository",
        "schema",
        "schemas",
        "select",
        "service",
        "services",
        "session",
        "settings",
        "test",
        "tests",
    ]
)

# Columns every table gets, and attributes SQLAlchemy or pydantic reserve on models.
RESERVED_FIELDS = frozenset(
    [
        "id",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "metadata",
        "registry",
        "copy",
        "dict",
        "json",
        "schema",
        "validate",
        "construct",
        "fields",
        "model_config",
        "model_fields",
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "dt",
        "object",
        "list",
    ]
)

_IRREGULAR_PLURALS = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "mouse": "mice",
    "goose": "geese",
    "foot": "feet",
    "tooth": "teeth",
    "datum": "data",
    "criterion": "criteria",
    "analysis": "analyses",
    "series": "series",
    "species": "species",
    "ox": "oxen",
    "louse": "lice",
    "crisis": "crises",
    "thesis": "theses",
    "diagnosis": "diagnoses",
    "hypothesis": "hypotheses",
    "synopsis": "synopses",
    "index": "indices",
    "matrix": "matrices",
    "vertex": "vertices",
    "appendix": "appendices",
    "phenomenon": "phenomena",
    "cactus": "cacti",
    "fungus": "fungi",
    "alumnus": "alumni",
    "syllabus": "syllabi",
    "radius": "radii",
    "quiz": "quizzes",
    # the nouns in -f/-fe whose plural is in -ves: a closed list ("archives", "drives", "olives" are not)
    "calf": "calves",
    "elf": "elves",
    "half": "halves",
    "knife": "knives",
    "leaf": "leaves",
    "life": "lives",
    "loaf": "loaves",
    "self": "selves",
    "sheaf": "sheaves",
    "shelf": "shelves",
    "bookshelf": "bookshelves",
    "thief": "thieves",
    "wife": "wives",
    "midwife": "midwives",
    "housewife": "housewives",
    "wolf": "wolves",
    "scarf": "scarves",
    "hoof": "hooves",
    "wharf": "wharves",
    "dwarf": "dwarves",
    # -oes for -o (most nouns in -o take -s: photos, videos, radios)
    "hero": "heroes",
    "potato": "potatoes",
    "tomato": "tomatoes",
    "echo": "echoes",
    "veto": "vetoes",
    "torpedo": "torpedoes",
    "volcano": "volcanoes",
    "mosquito": "mosquitoes",
    "domino": "dominoes",
    "cargo": "cargoes",
}
_IRREGULAR_SINGULARS = {plural: singular for singular, plural in _IRREGULAR_PLURALS.items()}
# nouns in -ie ("movies", "cookies"): their plural is no "-y" word with -ies
_IE_NOUNS = frozenset(
    {
        "movie", "cookie", "zombie", "calorie", "rookie", "selfie", "smoothie", "brownie", "hoodie", "goalie",
        "genie", "freebie", "budgie", "newbie", "veggie", "hippie", "auntie", "birdie", "techie", "sortie",
        "eyrie", "coterie", "reverie", "lingerie", "collie", "nightie", "pixie", "prairie", "boogie", "bookie",
        "beanie", "groupie", "junkie", "quickie", "roomie", "talkie", "yuppie", "specie",
    }
)  # fmt: skip
# nouns in -che and -use after a consonant: "caches", "niches"; "fuses" (most -uses are -us: "buses")
_CHE_NOUNS = frozenset(
    {"cache", "niche", "headache", "avalanche", "cliche", "moustache", "mustache", "quiche"}
)
_USE_NOUNS = frozenset({"fuse", "muse", "excuse", "abuse", "ruse", "use", "refuse", "recluse", "hypotenuse"})


def plural(word: str) -> str:
    """English plural of a snake_case noun (the last word is pluralised)."""
    head, _, last = word.rpartition("_")
    prefix = f"{head}_" if head else ""
    if last in _IRREGULAR_PLURALS:
        return prefix + _IRREGULAR_PLURALS[last]
    if last.endswith("ie"):
        return prefix + last + "s"
    if re.search(r"[^aeiou]y$", last):
        return prefix + last[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", last):
        return prefix + last + "es"
    return prefix + last + "s"


def singular(word: str) -> str:
    """English singular of a lowercase noun; a word that is not a plural is returned as it is."""
    if word in _IRREGULAR_SINGULARS:
        return _IRREGULAR_SINGULARS[word]
    if word in _IRREGULAR_PLURALS:
        return word
    if word.endswith("ies") and word[:-1] in _IE_NOUNS:
        return word[:-1]  # "movies", "cookies"
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ches") and word[:-1] in _CHE_NOUNS:
        return word[:-1]
    if word.endswith("uses") and len(word) >= 5 and word[-5] not in "aeiou" and word[:-1] not in _USE_NOUNS:
        return word[:-2]  # "buses", "statuses", "campuses"; not "houses", "causes", "fuses"
    if re.search(r"(sses|xes|zzes|ches|shes)$", word):
        return word[:-2]
    if word.endswith("ses") and len(word) > 4:
        return word[:-1]
    if word.endswith("s") and not re.search(r"(ss|us|is)$", word) and len(word) > 3:
        return word[:-1]
    return word


def looks_plural(word: str) -> bool:
    return word in _IRREGULAR_SINGULARS or (singular(word) != word and word not in _IRREGULAR_PLURALS)


def pascal(name: str) -> str:
    """``loan_item`` → ``LoanItem``."""
    return "".join(part.capitalize() for part in name.split("_"))


def title(name: str) -> str:
    """``loan_item`` → ``Loan item``."""
    return name.replace("_", " ").capitalize()


def slug(text: str, *, fallback: str = "service") -> str:
    """A lowercase, hyphenated project name made of at most four words of ``text``."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words[:4]) or fallback


def _unsafe_form(name: str) -> str:
    if not name:
        return "an empty name"
    if "/" in name or "\\" in name or ".." in name:
        return "a path, not a name"
    return "not a lowercase snake_case identifier"


def name_problem(name: str, *, kind: str) -> str | None:
    """Why ``name`` cannot be used as an entity or a field (``kind``), or ``None`` if it can."""
    if not SAFE_NAME.match(name):
        return (
            f"{kind} name {name!r} is {_unsafe_form(name)}: use 1–40 lowercase letters, digits and "
            "underscores, starting with a letter"
        )
    if name.endswith("_"):
        return f"{kind} name {name!r} ends with an underscore: drop it"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"{kind} name {name!r} is a Python keyword: choose another word (e.g. {name}_item)"
    if name in SQL_RESERVED and kind != "entity":
        return f"{kind} name {name!r} is an SQL reserved word: choose another word (e.g. {name}_name)"
    if kind == "entity":
        if name in dir(builtins):
            return f"entity name {name!r} shadows a Python builtin: choose another word (e.g. {name}_record)"
        if name in GENERATOR_RESERVED or plural(name) in GENERATOR_RESERVED:
            return f"entity name {name!r} clashes with a module of the generated code: choose another word"
        if plural(name) in SQL_RESERVED:
            return f"entity name {name!r} gives the table {plural(name)!r}, an SQL reserved word"
    elif name in RESERVED_FIELDS or name.startswith("model_"):
        return f"field name {name!r} is reserved (audit columns, SQLAlchemy or pydantic use it)"
    return None


_SAFER = {
    "class": "school_class",
    "type": "kind",
    "order": "sort_order",
    "user": "user_account",
    "group": "team_group",
    "from": "from_value",
    "to": "to_value",
    "key": "key_name",
    "value": "amount_value",
    "date": "day",
    "time": "time_of_day",
    "session": "visit_session",
    "model": "model_name",
    "test": "trial",
    "page": "web_page",
    "json": "json_text",
    "id": "external_id",
    "list": "item_list",
}


def safe_name(name: str, *, kind: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A name close to ``name`` that :func:`name_problem` accepts and ``taken`` does not hold."""
    stem = name.removeprefix("model_") or name
    candidates = [
        _SAFER.get(name, ""),
        f"{stem}_item" if kind == "entity" else f"{stem}_value",
        f"{stem}_record",
    ]
    candidates += [f"{stem}_{n}" for n in range(2, 10)] + [f"the_{stem}"]
    for candidate in candidates:
        if candidate and candidate not in taken and name_problem(candidate, kind=kind) is None:
            return candidate
    raise ValueError(f"no safe name for {name!r}")
