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
        "genre", "type", "kind", "brand", "model", "comment",
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
        "any", "optional", "optionally", "required", "various", "different", "lot", "lots",
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
})
# fmt: on
