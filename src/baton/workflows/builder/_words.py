"""Word lists the idea reader draws on: data, not logic (see _reading.py)."""

from __future__ import annotations

from baton.workflows.builder import _vocabulary as vocab

# fmt: off
PERSON_NOUNS = frozenset({
    "owner", "manager", "author", "customer", "teacher", "parent", "guardian", "supplier", "vendor",
    "landlord", "tenant", "driver", "doctor", "vet", "coach", "host", "organizer", "organiser", "creator",
    "assignee", "member", "patient", "student", "user", "client", "employee", "instructor", "agent", "team",
    "department", "company", "hotel", "room", "project", "category", "venue", "clinic", "school", "store",
    "shop", "warehouse",
})
# "staff book playgroups": a collective noun is a subject (and an entity) without looking plural.
COLLECTIVE_NOUNS = {
    "staff": "staff_member", "personnel": "staff_member", "people": "person", "crew": "crew_member",
    "faculty": "faculty_member", "clergy": "clergy_member",
}
# "a status (requested, confirmed, cancelled)": values any earlier value may move to, and final values.
EXIT_CHOICES = frozenset({
    "cancelled", "canceled", "rejected", "declined", "failed", "withdrawn", "expired", "void", "voided",
    "abandoned", "lost", "refused", "no_show",
})
FINAL_CHOICES = frozenset({
    "completed", "complete", "done", "closed", "delivered", "resolved", "finished", "archived", "paid",
    "returned", "fulfilled", "won", "picked_up", "collected", "shipped", "published",
})
# "a cost in dollars", "a weight in kg": units and currencies are no entities
UNIT_WORDS = frozenset({
    "dollars", "euros", "pounds", "cents", "pence", "yen", "usd", "eur", "gbp", "minutes", "hours", "days",
    "seconds", "weeks", "months", "years", "grams", "kilograms", "kg", "kgs", "meters", "metres", "km", "miles",
    "litres", "liters", "percent", "points", "calories", "kilometers", "kilometres", "centimeters", "inches",
    "cm", "mm", "ml", "mg", "lbs", "lb", "oz", "ft", "feet", "gallons", "tons", "tonnes", "millimeters",
    "millimetres", "centimetres", "chars", "characters",
})
# "flyers with copies", "documents with pages": a number of them, never an entity
COUNT_NOUNS = frozenset({
    "copies", "pages", "servings", "portions", "pieces", "votes", "likes", "views", "stars", "credits", "reps",
    "laps", "calories", "points", "clicks", "attempts", "retries",
})
FETCH_VERBS = frozenset({
    "fetch", "fetches", "collect", "collects", "import", "imports", "pull", "pulls", "download",
    "downloads", "sync", "syncs", "scrape", "scrapes", "poll", "polls",
})
SEND_VERBS = frozenset({
    "send", "sends", "email", "emails", "notify", "notifies", "remind", "reminds", "text", "texts",
})
FIELD_WORDS = frozenset(
    {f[0] for fields in vocab.ENTITY_FIELDS.values() for f in fields}
    | set(vocab.MEASURE_WORDS)
    | set(vocab.MONEY_WORDS)
    | {
        "status", "priority", "name", "title", "description", "email", "phone", "address", "deadline",
        "note", "notes", "color", "colour", "size", "location", "url", "website", "start", "end",
        "check_in", "check_out", "due_date", "isbn", "sku", "code", "city", "country", "currency", "unit",
        "label", "severity", "state", "stage", "category", "rating", "score", "date", "time", "year",
        "genre", "type", "kind", "brand", "model", "comment", "species", "breed",
    }
)
STOP = frozenset(
    set(vocab.NOT_ENTITIES)
    | vocab.DETERMINERS
    | {
        "show", "shows", "display", "displays", "give", "gives", "return", "returns",
        "can", "could", "should", "must", "will", "would", "may", "might", "be", "been", "being", "not",
        "only", "also", "then", "than", "so", "as", "if", "when", "where", "who", "which", "what", "how",
        "why", "it", "they", "them", "we", "i", "you", "he", "she", "there", "here", "one", "two", "three",
        "per", "via", "like", "such", "e", "g", "eg", "ie", "using", "want", "wants", "need", "needs",
        "let", "lets", "see", "list", "lists", "listing", "view", "views", "browse", "search", "find",
        "add", "adds", "edit", "update", "create", "creates", "read", "reads", "delete", "deletes", "crud",
        "rest", "api", "apis", "simple", "small", "own", "out", "up", "down", "over", "under", "into",
        "off", "later", "now", "new", "old", "just", "but", "both", "either", "neither", "nor", "yet",
        "once", "twice", "always", "never", "sometimes", "often", "every", "night", "nightly", "daily",
        "weekly", "hourly", "monthly", "morning", "evening", "midnight", "minutes", "hours", "scheduled",
        "serverless", "timer", "job", "jobs", "web", "app", "website", "page", "pages", "dashboard", "html",
        "json", "backend", "service", "tracker", "tracking", "manager", "managing", "management", "catalog",
        "catalogue", "directory", "registry", "log", "book", "store", "keep", "track", "holds", "hold",
        "has", "have", "with", "and", "or", "belongs", "belong", "many", "several", "multiple", "each",
        "any", "optional", "optionally", "required", "various", "different", "lot", "lots", "too", "well",
        "etc", "please",
    }
)
ADJECTIVES = frozenset({
    "small", "big", "large", "new", "old", "simple", "daily", "nightly", "weekly", "hourly", "monthly",
    "many", "several", "open", "closed", "active", "latest", "newest", "recent", "current", "last", "first",
    "next", "other", "own", "all", "each", "every", "local", "public", "private", "online", "multiple",
    "different", "various", "related", "available", "upcoming", "past", "future", "total", "single", "main",
    "basic", "tiny", "little", "few", "more", "most", "expired", "free", "paid", "low", "high", "medium",
    "overdue", "pending",
})
FIELD_HEADS = frozenset({
    "date", "time", "name", "number", "price", "fee", "address", "code", "count", "rate", "level", "limit", "id",
    "amount", "total", "email", "phone", "url", "link", "score", "size", "weight", "distance", "duration",
    "type",
})
# fmt: on


def _third_person(base: str) -> str:
    """ "add" → "adds", "multiply" → "multiplies", "relay" → "relays", "fetch" → "fetches"."""
    if base.endswith("y") and base[-2:-1] not in tuple("aeiou"):
        return base[:-1] + "ies"
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        return base + "es"
    return base + "s"


# What an idea asks the service to DO that is no data it keeps: the verb (both forms) → what it is.
# "An endpoint that adds two numbers", "a relay that forwards requests": these are requirements the
# templates cannot write, never entities.
# fmt: off
_ACTION_BASES: dict[str, tuple[str, ...]] = {
    "compute": (
        "add", "subtract", "multiply", "divide", "compute", "calculate", "evaluate", "solve", "average",
        "sum", "estimate", "predict", "simulate", "analyse", "analyze", "classify", "detect", "recognise",
        "recognize", "recommend", "generate", "randomize", "randomise", "hash", "encrypt", "decrypt",
        "encode", "decode", "compress", "decompress", "parse", "minify", "tokenize", "tokenise", "compare",
        "verify", "validate", "check", "answer", "reply", "respond", "echo", "round", "sign", "geocode",
        "spellcheck", "lint", "diff", "score", "rank", "sort", "shuffle", "reverse", "scale",
    ),
    "convert": (
        "convert", "translate", "transform", "transcode", "resize", "crop", "rescale", "reformat",
        "transliterate", "rewrite", "render", "format",
    ),
    "relay": (
        "relay", "forward", "proxy", "redirect", "route", "mirror", "cache", "broadcast", "stream", "pipe",
        "tunnel", "post", "publish", "push", "upload",
    ),
    "send": (
        "send", "email", "e-mail", "mail", "notify", "remind", "text", "alert", "message", "sms", "tweet",
        "ping", "call", "page",
    ),
    "fetch": (
        "fetch", "collect", "import", "pull", "download", "sync", "scrape", "crawl", "poll", "harvest",
        "retrieve", "look",
    ),
}
# fmt: on
ACTION_VERBS: dict[str, str] = {
    form: kind
    for kind, bases in _ACTION_BASES.items()
    for base in bases
    for form in (base, _third_person(base))
}
# Forms that are nouns as often as verbs ("blog posts", "bank checks", "football forwards"): a verb only
# where the words around it say so (after "that", "it", "also"; before "them"; after another action).
AMBIGUOUS_ACTIONS = frozenset(
    {
        "posts", "post", "checks", "check", "answers", "answer", "replies", "reply", "averages", "average",
        "sums", "sum", "estimates", "estimate", "formats", "format", "renders", "mirrors", "mirror",
        "routes", "route", "texts", "text", "emails", "email", "mail", "alerts", "alert", "messages",
        "message", "scores", "score", "rounds", "round", "diffs", "diff", "imports", "import", "pulls",
        "pull", "calls", "call", "pages", "page", "streams", "stream", "pushes", "push", "uploads",
        "upload", "downloads", "download", "caches", "signs", "sign", "ranks", "rank", "echoes", "echo",
        "hashes", "hash", "looks", "look", "collects", "collect", "pipes", "pipe", "tunnels", "tunnel",
        "crops", "crop", "publishes", "publish", "syncs", "sync", "polls", "poll", "forwards", "forward",
        "sort", "sorts", "scale", "scales", "add", "adds", "sms", "ping", "pings", "tweets", "tweet",
        "proxies", "proxy", "compare", "harvest", "harvests", "print", "prints",
    }
)  # fmt: skip
# The service named by what it does: "a currency converter", "a URL shortener" — no entity either.
AGENT_NOUNS: dict[str, str] = {
    "calculator": "compute", "calculators": "compute", "converter": "convert", "converters": "convert",
    "translator": "convert", "translators": "convert", "validator": "compute", "validators": "compute",
    "checker": "compute", "checkers": "compute", "generator": "compute", "generators": "compute",
    "relay": "relay", "relays": "relay", "proxy": "relay", "forwarder": "relay", "resizer": "convert",
    "formatter": "convert", "parser": "compute", "scraper": "fetch", "scrapers": "fetch",
    "crawler": "fetch", "notifier": "send", "aggregator": "fetch", "estimator": "compute",
    "predictor": "compute", "encoder": "compute", "decoder": "compute", "analyzer": "compute",
    "analyser": "compute", "solver": "compute", "summarizer": "compute", "summariser": "compute",
    "gateway": "relay", "redirector": "relay",
}  # fmt: skip
# "a todo list", "a habit tracker", "an expense log": the noun before one of these is what is kept.
KEEPING_HEADS = frozenset(
    {
        "tracker", "list", "log", "diary", "journal", "planner", "inventory", "registry", "catalog",
        "catalogue", "directory", "manager", "organizer", "organiser",
    }
)  # fmt: skip
# Object pronouns: "forwards them", "emails me" — the word before is a verb.
OBJECT_PRONOUNS = frozenset({"them", "it", "me", "us", "him", "her", "you", "everyone", "everybody"})
