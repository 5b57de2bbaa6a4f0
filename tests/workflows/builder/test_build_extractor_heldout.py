"""Held-out ideas for the offline rules extractor, in the spirit of a skeptical user's findings (a parenthesis
read as a field, a limit read as a numeric field named after its verb, "phone number" split in two, "shelves"
read as 'shelve', a relation turned round, "messages in threads", non-English ideas, "≥").

Written before the rules they exercise were changed; each case states what a person expects from the words:
the entities, the relations that must (and must not) hold, the fields with their type and bounds, the fields
that must not exist, and the phrases a ``not implemented`` requirement must quote. The first run of the code
before the change got 7 of these 36 right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from baton.core.errors import InvalidInputError
from baton.workflows.builder.extractor import extract_spec
from baton.workflows.builder.spec import BuildSpec, RequirementStatus

# Verbs that must never name a field or an entity (written here, not taken from the extractor's lists).
VERBS = frozenset(
    {"rent", "borrow", "book", "reserve", "buy", "enroll", "check", "live", "sit", "hold", "take", "feed"}
)
# Articles and determiners of other languages: never part of an entity name.
FOREIGN = frozenset({"des", "les", "le", "la", "du", "der", "die", "das", "el", "los", "las", "una", "unos"})


@dataclass(frozen=True)
class Case:
    idea: str
    entities: frozenset[str] | None = None  # exactly these (None: refused)
    relations: tuple[tuple[str, str], ...] = ()  # (parent, child) that must hold
    not_relations: tuple[tuple[str, str], ...] = ()  # (parent, child) that must not hold
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # "entity.field" → attributes
    no_fields: tuple[str, ...] = ()  # "entity.field" that must not exist
    left: tuple[str, ...] = ()  # phrases a `not implemented` requirement quotes
    refused: str = ""  # a pattern the refusal's message matches
    check: tuple[str, ...] = ()  # extra named checks (see _extra)


def case(idea: str, entities: str | None, **kwargs: Any) -> Case:
    return Case(idea, None if entities is None else frozenset(entities.split()), **kwargs)


CASES = [
    # a parenthesis ends a phrase: "(unique)" is a constraint of the field before it, never a field or a relation
    case(
        "A fastapi service for a gym: trainers with an email (unique), workouts and clients",
        "trainer workout client",
        fields={"trainer.email": {"unique": True}},
        no_fields=("trainer.unique", "trainer.unique_value"),
        not_relations=(("trainer", "client"), ("trainer", "workout")),
    ),
    case(
        "A library API: books with an isbn (unique) and a title, and authors",
        "book author",
        fields={"book.isbn": {"unique": True}, "book.title": {}},
        no_fields=("book.unique_value",),
        not_relations=(("book", "author"),),
    ),
    case(
        "A bike shop API: bikes with a serial number (unique) and a price; customers buy bikes",
        "bike customer order",
        fields={"bike.serial_number": {"unique": True}, "bike.price": {"type": "decimal"}},
        no_fields=("bike.unique_value", "bike.serial", "bike.number"),
        relations=(("customer", "order"), ("bike", "order")),
    ),
    case(
        "An inventory of tools (name, serial number) and workers; workers borrow tools",
        "tool worker loan",
        fields={"tool.name": {}, "tool.serial_number": {}},
        relations=(("worker", "loan"), ("tool", "loan")),
    ),
    # a limit on children: a rule, or honestly not implemented; never a numeric field named after the verb
    case(
        "A library where members borrow books; a member can borrow at most 3 books at a time",
        "member book loan",
        no_fields=("member.borrow",),
        check=("limit_or_left:loan:at most 3 books",),
    ),
    case(
        "A parking API: drivers reserve spots; a driver can reserve at most 1 spot at a time",
        "driver spot reservation",
        no_fields=("driver.reserve",),
        check=("limit_or_left:reservation:at most 1 spot",),
    ),
    case(
        "A dentist API: patients have appointments; each appointment has a date and a reason; a patient can "
        "book at most 2 appointments per week",
        "patient appointment",
        relations=(("patient", "appointment"),),
        no_fields=("patient.book",),
        left=("at most 2 appointments per week",),
    ),
    # a field named by two words stays one field
    case(
        "A contacts app: contacts have a first name, a last name, a phone number and an email",
        "contact",
        fields={
            "contact.first_name": {},
            "contact.last_name": {},
            "contact.phone_number": {},
            "contact.email": {},
        },
        no_fields=("contact.phone", "contact.number", "contact.first", "contact.last"),
    ),
    case(
        "A staff API: employees have a name, a badge number and a mobile phone number",
        "employee",
        fields={"employee.badge_number": {}, "employee.name": {}},
        no_fields=("employee.badge", "employee.number", "employee.phone"),
    ),
    # a pair of dates said twice is one pair, ordered once
    case(
        "A travel API: trips have a start date and an end date and the end date must be after the start date",
        "trip",
        check=("one_date_pair:trip",),
    ),
    case(
        "A hall rental API: halls and bookings; each booking has a start date and an end date; the end date "
        "is after the start date",
        "hall booking",
        relations=(("hall", "booking"),),
        check=("one_date_pair:booking",),
    ),
    # plurals that are not a word with an s
    case(
        "A kitchen API: knives and chefs; each knife belongs to a chef",
        "knife chef",
        relations=(("chef", "knife"),),
    ),
    case("A backup API: drives have many backups", "drive backup", relations=(("drive", "backup"),)),
    case("A deli API: olives and cheeses with a price", "olive cheese"),
    case("A bus company API: buses have many trips", "bus trip", relations=(("bus", "trip"),)),
    case(
        "A movie database: movies have many reviews",
        "movie review",
        relations=(("movie", "review"),),
    ),
    case(
        "A library of shelves and boxes: boxes sit on shelves",
        "shelf box",
        relations=(("shelf", "box"),),
        not_relations=(("box", "shelf"),),
    ),
    case(
        "A farm API: wolves and calves live in enclosures",
        "wolf calf enclosure",
        relations=(("enclosure", "wolf"), ("enclosure", "calf")),
    ),
    # "X in Y", "X on Y": the container is the parent
    case(
        "A chat API: channels and messages; messages in channels",
        "channel message",
        relations=(("channel", "message"),),
        not_relations=(("message", "channel"),),
    ),
    case(
        "Warehouse!!! -- pallets (barcode, weight >= 0) & racks; pallets sit on racks???",
        "pallet rack",
        relations=(("rack", "pallet"),),
        fields={"pallet.barcode": {}, "pallet.weight": {"min": 0}},
    ),
    case(
        "A zoo API: animals live in enclosures",
        "animal enclosure",
        relations=(("enclosure", "animal"),),
    ),
    # a count is a field, not an entity
    case(
        "A flyer service: flyers with copies, a width and a height",
        "flyer",
        fields={"flyer.copies": {"type": "integer"}},
    ),
    case(
        "A printing API: documents with pages and copies",
        "document",
        fields={"document.copies": {"type": "integer"}, "document.pages": {"type": "integer"}},
    ),
    # comparison signs read like words
    case(
        "A shipping API: parcels with a weight ≤ 30 and a quantity ≥ 1",
        "parcel",
        fields={"parcel.weight": {"max": 30}, "parcel.quantity": {"min": 1}},
        no_fields=("parcel.the_1", "parcel.the_30"),
    ),
    case(
        "A shop API: products with a stock >= 0 and a price <= 1000",
        "product",
        fields={"product.stock": {"min": 0}, "product.price": {"max": 1000}},
    ),
    # the stack's reason names its word; a clause after a fetch is its own requirement
    case(
        "A REST API for recipes and chefs; import recipes weekly from https://example.com/recipes.json and "
        "keep a score 1-10 per recipe",
        "recipe chef",
        fields={"recipe.score": {"type": "integer", "min": 1, "max": 10}},
        check=("stack_named", "own_requirement:score:field:recipe.score"),
    ),
    case(
        "A serverless API for invoices with a nightly summary",
        "invoice",
        check=("stack_named",),
    ),
    # common CRUD ideas named by what they keep
    case("todo list", "todo"),
    case("A to-do list", "todo"),
    case("Task list", "task"),
    # other languages: said plainly, quoted whole words
    case(
        "Eine API für Bücherei: Bücher, Autoren und Ausleihen; Mitglieder leihen Bücher aus",
        None,
        refused="English",
    ),
    case("Une API pour un restaurant: des plats et des commandes", None, refused="English"),
    case("Una API para una biblioteca: libros, autores y préstamos", None, refused="English"),
    # phrasal verbs and plain verbs between two nouns are requirements, never dropped
    case(
        "A tool library where neighbours can check out tools",
        "neighbour tool loan",  # the loan the check-out makes (or no loan, and the phrase reported)
        check=("link_or_left:neighbour:tool:check out",),
    ),
    case(
        "A forum where users write posts in topics",
        "user post topic",
        relations=(("topic", "post"),),
        not_relations=(("post", "topic"),),
    ),
    case(
        "A school API: teachers and students; teachers mentor students",
        "teacher student",
        check=("link_or_left:teacher:student:mentor",),
    ),
]


# The second round, written after the first round's rules and run once: 10 of these 12 right (the code before
# both rounds: 3); the two misses ('runtime >= 1' after a listed field, 'a price > 0') were then read.
SECOND_ROUND = [
    case(
        "A vet clinic API: vets with a licence number (unique) and a name, pets and owners; pets belong to owners",
        "vet pet owner",
        fields={"vet.licence_number": {"unique": True}},
        relations=(("owner", "pet"),),
        not_relations=(("vet", "pet"),),
    ),
    case(
        "A marina API: boats sit in berths; each berth has a length in meters and a price per night",
        "boat berth",
        relations=(("berth", "boat"),),
    ),
    case(
        "Cinema!! -- films (title, runtime >= 1) & screenings; screenings of films",
        "film screening",
        relations=(("film", "screening"),),
        fields={"film.title": {}, "film.runtime": {"min": 1}},
    ),
    case(
        "A wardrobe app: scarves and shelves; scarves lie on shelves",
        "scarf shelf",
        relations=(("shelf", "scarf"),),
    ),
    case(
        "A car pool API: drivers offer rides; a ride takes at most 4 passengers",
        "driver ride passenger",
        check=("limit_or_left:passenger:at most 4 passengers",),
    ),
    case(
        "A hiking club: members sign up for hikes; each hike has a date and a distance ≤ 40",
        "member hike registration",
        fields={"hike.distance": {"max": 40}},
    ),
    case("Una app para recetas: ingredientes y pasos", None, refused="English"),
    case(
        "A tutoring API: tutors and pupils; a tutor can teach at most 5 pupils at a time",
        "tutor pupil",
        no_fields=("tutor.teach",),
    ),
    case(
        "A conference API: talks in rooms; speakers give talks; each talk has a title and a start time",
        "talk room speaker",
        relations=(("room", "talk"),),
    ),
    case(
        "A photo app: albums with photos; each photo has a caption and a taken date",
        "album photo",
        relations=(("album", "photo"),),
    ),
    case(
        "A knife shop: knives with a blade length in cm and a price > 0",
        "knife",
        fields={"knife.price": {"type": "decimal"}},
    ),
    case(
        "A helpdesk: agents with a phone number and an email address; tickets in queues",
        "agent ticket queue",
        fields={"agent.phone_number": {}, "agent.email": {"type": "email"}},
        relations=(("queue", "ticket"),),
    ),
]


# Found on the way (wrong before this branch too): choices in a list of fields, a due date said as such.
FOUND = [
    case(
        "A bug tracker: bugs with a severity (low, medium, high) and a status (open, closed)",
        "bug",
        fields={
            "bug.severity": {"choices": ["low", "medium", "high"]},
            "bug.status": {"choices": ["open", "closed"]},
        },
        no_fields=("bug.one", "bug.low", "bug.of_value"),
    ),
    case(
        "A todo app: todos have a title and a due date",
        "todo",
        fields={"todo.due_date": {"type": "date"}},
        no_fields=("todo.due_on",),
    ),
    # a parenthesis after a subject: the sentence reads on ("members … book classes")
    case(
        "Gym: members (email unique) book classes; a class takes at most 15 members",
        "member booking school_class",
        fields={"member.email": {"unique": True}},
        relations=(("member", "booking"), ("school_class", "booking")),
        no_fields=("member.unique",),
    ),
    case(
        "A hotel API: hotels (name, stars 1-5) with rooms",
        "hotel room",
        fields={"hotel.stars": {"min": 1, "max": 5}},
    ),
    case("shopping list", "item"),
    # bounds in words, marks in parentheses, "by", another language
    case(
        "Teams with up to 11 players",
        "team player",
        relations=(("team", "player"),),
        check=("limit_or_left:player:at most 11 players",),
        no_fields=("team.up", "team.players"),
    ),
    case(
        "A book API: books with a title and a subtitle (optional); authors write books",
        "book author",
        fields={"book.subtitle": {"required": False}, "book.title": {"required": True}},
        no_fields=("book.optional",),
    ),
    case(
        "A shop: products with a price (in EUR) and a name (max 100 chars)",
        "product",
        fields={"product.name": {"max_length": 100, "type": "string"}},
        no_fields=("product.chars", "product.max"),
    ),
    case(
        "Books by authors; posts by users",
        "book author post user",
        relations=(("author", "book"), ("user", "post")),
    ),
    case("Een API voor een bibliotheek met boeken en leden", None, refused="English"),
    # a count in a list is a field, the same noun elsewhere an entity; a list reads on after a unit
    case(
        "Library: books, copies of books and loans; members borrow copies",
        "book copy loan member",
        relations=(("book", "copy"),),
    ),
    case("Recipes: each recipe has servings", "recipe", fields={"recipe.servings": {"type": "integer"}}),
    case(
        "A farm API: cows and milkings; each milking has a volume in litres >= 0 and a date",
        "cow milking",
        fields={"milking.volume": {"min": 0}, "milking.date": {}},
    ),
    case(
        "A dental clinic: dentists and treatments; each treatment has a cost > 0 and a date",
        "dentist treatment",
        fields={"treatment.cost": {"min": 0.01}, "treatment.date": {}},
    ),
    case("A todo-list with tags", "todo tag"),
    case("a to do list", "todo"),
    case("todo", "todo"),
    case("todo list API with due dates", "todo", fields={"todo.due_date": {"type": "date"}}),
    case("Projects with a name and due dates", "project", fields={"project.due_date": {}}),
    case("contacts have phone numbers", "contact", fields={"contact.phone_number": {}}),
    case(
        "Shelters have animals (name, age >= 0, species)",
        "shelter animal",
        fields={"animal.species": {}, "animal.age": {"min": 0}},
        relations=(("shelter", "animal"),),
    ),
    case(
        "An API that tracks flights with a departure time and an arrival time; the arrival time is after the "
        "departure time",
        "flight",
        check=("one_date_pair:flight",),
    ),
    case(
        "A library: books with an isbn (must be unique); members can check out at most 5 books",
        "book member loan",
        fields={"book.isbn": {"unique": True}},
        relations=(("member", "loan"), ("book", "loan")),
        check=("limit_or_left:loan:at most 5",),
    ),
    case(
        "A user can have at most 3 active subscriptions; users have subscriptions",
        "user subscription",
        left=("active",),
        check=("limit_or_left:subscription:at most 3",),
    ),
]


# The lead's six misreads (a modifier of "service" read as an entity, "a model name" split, "recipes with
# ingredients and steps" turned round, "calories burned" split, "deliveries of products from suppliers",
# "librarians manage authors" read as ownership), and eighteen fresh ideas of this branch written before its
# rules changed: the code at its start got 6 of the 18 right (and 0 of the lead's 6).
LEAD = [
    case(
        "A clinic booking service: doctors, patients and appointments; each appointment has a start time and a "
        "reason; patients have a birth date",
        "doctor patient appointment",
        fields={"patient.birth_date": {"type": "date"}, "appointment.reason": {}},
    ),
    case("A booking API with a start date and a guest name", "booking"),
    case(
        "An API for a bike shop where customers order bikes; bikes have a model name, a price between 100 and "
        "5000 euros and a frame size",
        "customer bike order",
        fields={
            "bike.name": {"type": "string"},  # "model_…" is pydantic's: the model name is the bike's name
            "bike.price": {"type": "decimal", "min": 100, "max": 5000},
            "bike.frame_size": {"type": "string"},
        },
        no_fields=("bike.name_value", "bike.model_name"),
        check=("texts_in_idea",),
    ),
    case(
        "A recipe manager: recipes with ingredients and steps, each recipe has a cooking time in minutes and a "
        "difficulty one of easy, medium or hard",
        "recipe ingredient step",
        relations=(("recipe", "ingredient"), ("recipe", "step")),
        not_relations=(("step", "recipe"),),
        fields={"recipe.difficulty": {"choices": ["easy", "medium", "hard"]}, "recipe.cooking_time": {}},
    ),
    case(
        "track gym members and their workouts; a workout has a date, a duration and calories burned",
        "gym_member workout",  # "gym members" stays one noun, as "parking spots" does
        relations=(("gym_member", "workout"),),
        fields={"workout.calories_burned": {"type": "integer"}},
        no_fields=("workout.calories", "workout.burned"),
    ),
    case(
        "Inventory for a bakery: products (name unique, price > 0), suppliers, and deliveries of products from "
        "suppliers",
        "product supplier delivery",
        relations=(("product", "delivery"), ("supplier", "delivery")),
        not_relations=(("product", "supplier"),),
        fields={"product.name": {"unique": True}, "product.price": {"min": 0.01}},
    ),
    case(
        "A library where members borrow books and librarians manage authors; each book has a title and an isbn "
        "(unique)",
        "member book loan librarian author",
        relations=(("member", "loan"), ("book", "loan")),
        not_relations=(("librarian", "author"),),
        left=("librarians manage authors",),
    ),
]
THIRD_ROUND = [
    case(
        "A dog walking app where owners book walks for their dogs; each walk has a date, a duration in minutes "
        "and a price > 0",
        "owner walk dog",
        relations=(("dog", "walk"),),
        fields={"walk.price": {"min": 0.01}, "walk.duration": {"type": "integer"}},
    ),
    case(
        "A school API: teachers, classes and students; students enroll in classes; each class has a name and a "
        "room number",
        "teacher school_class student enrollment",
        relations=(("student", "enrollment"), ("school_class", "enrollment")),
        fields={"school_class.room_number": {}},
        no_fields=("school_class.number",),
    ),
    case(
        "An event ticketing platform: events (title, date, capacity >= 1) and tickets; attendees buy tickets "
        "for events",
        "event ticket attendee",
        relations=(("event", "ticket"), ("attendee", "ticket")),
        fields={"event.title": {}, "event.date": {}, "event.capacity": {"min": 1}},
    ),
    case(
        "A fleet management system that tracks vehicles and their drivers; each vehicle has a plate number "
        "(unique) and a mileage >= 0",
        "vehicle driver",
        relations=(("vehicle", "driver"),),
        fields={"vehicle.plate_number": {"unique": True}, "vehicle.mileage": {"min": 0}},
        no_fields=("vehicle.plate",),
    ),
    case(
        "A blog API: authors write posts; posts have a title, a body and a published date; readers leave "
        "comments on posts",
        "author post reader comment",
        relations=(("author", "post"), ("post", "comment")),
        fields={"post.title": {}, "post.body": {}},
    ),
    case(
        "A hotel reservation API where guests reserve rooms; rooms have a number (unique), a floor and a "
        "nightly rate between 50 and 500",
        "guest room reservation",
        relations=(("guest", "reservation"), ("room", "reservation")),
        fields={"room.number": {"unique": True}, "room.nightly_rate": {"min": 50, "max": 500}},
        no_fields=("room.rating",),
    ),
    case(
        "A music app: artists, albums and songs; songs of albums; each song has a title and a length in seconds",
        "artist album song",
        relations=(("album", "song"),),
        fields={"song.title": {}, "song.length": {"type": "integer"}},
    ),
    case(
        "A plant care tracker: plants with a species and a watering interval in days, and waterings of plants",
        "plant watering",
        relations=(("plant", "watering"),),
        fields={"plant.species": {}, "plant.watering_interval": {}},
    ),
    case(
        "A volunteer API where coordinators schedule shifts; volunteers sign up for shifts; each shift has a "
        "start time and an end time",
        "coordinator shift volunteer registration",
        relations=(("volunteer", "registration"), ("shift", "registration")),
    ),
    case(
        "A car rental service: cars (make, model, year >= 1990) and customers; customers rent cars",
        "car customer rental",
        relations=(("customer", "rental"), ("car", "rental")),
        fields={"car.make": {}, "car.model": {}, "car.year": {"min": 1990}},
    ),
    case(
        "A task board: projects with tasks; each task has a title, a priority one of low, medium or high and a "
        "due date",
        "project task",
        relations=(("project", "task"),),
        fields={"task.priority": {"choices": ["low", "medium", "high"]}, "task.due_date": {"type": "date"}},
    ),
    case(
        "A course platform where instructors create courses and students enroll in courses; each course has a "
        "title and a price >= 0",
        "instructor course student enrollment",
        relations=(("student", "enrollment"), ("course", "enrollment")),
        fields={"course.price": {"min": 0}},
    ),
    case(
        "A pet clinic's API: owners and their pets; each pet has a name, a species and a weight in kg",
        "owner pet",
        relations=(("owner", "pet"),),
        fields={"pet.species": {}, "pet.weight": {}},
    ),
    case(
        "An expense tracker: users log expenses; each expense has an amount > 0, a category and a date",
        "user expense",
        relations=(("user", "expense"),),
        fields={"expense.amount": {"min": 0.01}, "expense.category": {}},
    ),
    case(
        "A warehouse API: shipments of orders from warehouses; each shipment has a tracking number (unique)",
        "shipment order warehouse",
        relations=(("order", "shipment"), ("warehouse", "shipment")),
        not_relations=(("warehouse", "order"),),
        fields={"shipment.tracking_number": {"unique": True}},
    ),
    case(
        "A podcast service: podcasts with episodes; each episode has a title, a duration in minutes and a "
        "release date",
        "podcast episode",
        relations=(("podcast", "episode"),),
        no_fields=("podcast.episodes",),
    ),
    case(
        "A restaurant ordering app where customers place orders; each order has a total > 0 and a status one "
        "of pending, paid or delivered",
        "customer order",
        relations=(("customer", "order"),),
        fields={"order.total": {"min": 0.01}, "order.status": {"choices": ["pending", "paid", "delivered"]}},
    ),
    case(
        "A sports league API: teams with players; each player has a jersey number between 1 and 99 and a "
        "position",
        "team player",
        relations=(("team", "player"),),
        fields={"player.jersey_number": {"min": 1, "max": 99}},
        no_fields=("team.players",),
    ),
]

# Written after this branch's rules changed, to see whether they hold on new words: 5 of these 9 right on
# their first run; 'runtime in minutes' in a parenthesis, 'a soil type' and 'a rate between 50 and 500' were
# then read; 'leave requests' (a verb as the first word of a noun) is not.
FOURTH_ROUND = [
    case(
        "A gardening club app: members and their plots; each plot has a size in square meters and a soil type",
        "member plot",
        relations=(("member", "plot"),),
        fields={"plot.soil_type": {}, "plot.size": {"min": 0}},
        no_fields=("plot.soil", "plot.type"),
    ),
    case(
        "A courier service: parcels of customers from depots; each parcel has a weight in kg <= 30",
        "parcel customer depot",
        relations=(("customer", "parcel"), ("depot", "parcel")),
        not_relations=(("depot", "customer"),),
        fields={"parcel.weight": {"max": 30}},
    ),
    case(
        "An HR tool where managers approve leave requests; each leave request has a start date and an end date",
        "manager leave_request",
        not_relations=(("manager", "leave_request"),),
        left=("managers approve leave requests",),
        check=("one_date_pair:leave_request",),
    ),
    case(
        "A film festival's API: films (title, runtime in minutes >= 1) and screenings of films in cinemas",
        "film screening cinema",
        relations=(("film", "screening"), ("cinema", "screening")),
        fields={"film.title": {}, "film.runtime": {"min": 1, "type": "integer"}},
    ),
    case(
        "A fitness studio booking app: instructors, classes and members; members book classes",
        "instructor school_class member booking",
        relations=(("member", "booking"), ("school_class", "booking")),
    ),
    case(
        "Track runners and their races; a race has a distance in km and a finishing time",
        "runner race",
        relations=(("runner", "race"),),
        fields={"race.distance": {"min": 0}},
    ),
    case(
        "A moderation API where admins moderate comments and users write comments",
        "admin comment user",
        relations=(("user", "comment"),),
        not_relations=(("admin", "comment"),),
        left=("admins moderate comments",),
    ),
    # found on the way: "rate" after an article is a noun, never the verb that names a rating
    case(
        "A hotel API: rooms have a number and a rate between 50 and 500",
        "room",
        fields={"room.rate": {"min": 50, "max": 500}},
        no_fields=("room.rating",),
    ),
    case(
        "A booking API: rooms and guests; guests book rooms",
        "room guest booking",
        relations=(("guest", "booking"), ("room", "booking")),
    ),
]


def _fields(spec: BuildSpec) -> dict[str, Any]:
    return {f"{e.name}.{f.name}": f for e in spec.entities for f in e.fields}


def _relations(spec: BuildSpec) -> set[tuple[str, str]]:
    return {(r.parent, r.child) for r in spec.relations}


def _left(spec: BuildSpec) -> list[str]:
    return [r.text.lower() for r in spec.requirements if r.status is RequirementStatus.NOT_IMPLEMENTED]


def _extra(spec: BuildSpec, check: str) -> str | None:
    """A named check; the problem, or None."""
    kind, _, arg = check.partition(":")
    if kind == "limit_or_left":
        child, phrase = arg.split(":")
        limited = any(r.kind.value == "limit" and r.entity == child for r in spec.rules)
        quoted = any(phrase in t for t in _left(spec))
        return None if limited or quoted else f"neither a limit on {child} nor {phrase!r} reported"
    if kind == "one_date_pair":
        if arg not in {e.name for e in spec.entities}:
            return f"no entity {arg}"
        dated = [f for f in spec.entity(arg).fields if f.type.value in ("date", "datetime")]
        orderings = [r for r in spec.rules if r.kind.value == "ordering" and r.entity == arg]
        if len(dated) != 2 or len(orderings) != 1:
            return f"{arg} has dates {[f.name for f in dated]} and {len(orderings)} orderings"
        return None
    if kind == "stack_named":
        said = next((a for a in spec.assumptions if a.startswith("stack ")), "")
        return None if re.search(r"'[a-z -]+'", said) or "default" in said else f"stack reason: {said!r}"
    if (
        kind == "own_requirement"
    ):  # "word:feature": one requirement names the word, implemented by the feature
        word, feature = arg.split(":", 1)
        holding = [r for r in spec.requirements if word in r.text.lower()]
        if len(holding) != 1 or holding[0].implemented_by != feature:
            return (
                f"{word!r} is not a requirement of its own: {[(r.text, r.implemented_by) for r in holding]}"
            )
        return None
    if kind == "texts_in_idea":  # every requirement but "keep …" quotes the user's words
        idea = " ".join(spec.description.lower().split())
        made = [
            r.text for r in spec.requirements if not r.text.startswith("keep ") and r.text.lower() not in idea
        ]
        return f"requirements not in the idea's words: {made}" if made else None
    if kind == "link_or_left":
        left, right, phrase = arg.split(":")
        parents: dict[str, set[str]] = {}
        for parent, child in _relations(spec):
            parents.setdefault(child, set()).add(parent)
        linked = any({left, right} <= p for p in parents.values()) or (left, right) in _relations(spec)
        quoted = any(phrase in t for t in _left(spec))
        return None if linked or quoted else f"{phrase!r} neither built nor reported"
    raise ValueError(check)


def _refusal_problems(item: Case) -> list[str]:
    try:
        extract_spec(item.idea)
    except InvalidInputError as error:
        found = []
        if not re.search(item.refused, error.message):
            found.append(f"refused with {error.message!r}")
        quoted = re.search(r"'([^']*)'", error.message)
        shown = quoted.group(1).rstrip("…").rstrip() if quoted else ""
        if quoted and not item.idea.startswith(shown):
            found.append(f"quote {shown!r}")
        elif quoted and item.idea[len(shown) : len(shown) + 1] not in ("", " "):
            found.append("quote cut mid-word")
        return found
    return ["not refused"]


def problems(item: Case) -> list[str]:
    """What the extractor got wrong on ``item`` (empty when it got it right)."""
    if item.entities is None:
        return _refusal_problems(item)
    try:
        spec = extract_spec(item.idea)
    except InvalidInputError as error:
        return [f"refused: {error.message}"]
    except Exception as error:  # a crash is a finding, counted like the others
        return [f"crashed: {error!r}"]
    found: list[str] = []
    names = {e.name for e in spec.entities}
    if names != item.entities:
        found.append(f"entities {sorted(names)}")
    if any(n.split("_")[0] in FOREIGN for n in names):
        found.append("a foreign article in an entity name")
    relations = _relations(spec)
    found += [f"no relation {r}" for r in item.relations if r not in relations]
    found += [f"relation {r}" for r in item.not_relations if r in relations]
    fields = _fields(spec)
    for ref, attributes in item.fields.items():
        f = fields.get(ref)
        if f is None:
            found.append(f"no field {ref}")
            continue
        for key, value in attributes.items():
            got = getattr(f, key)
            got = got.value if hasattr(got, "value") else got
            if got != value:
                found.append(f"{ref}.{key} = {got!r}, not {value!r}")
    found += [f"field {ref}" for ref in item.no_fields if ref in fields]
    found += [f"field {ref} named after a verb" for ref in fields if ref.split(".")[1] in VERBS]
    found += [f"{p!r} not reported" for p in item.left if not any(p in t for t in _left(spec))]
    implemented = [
        r.text.lower() for r in spec.requirements if r.status is not RequirementStatus.NOT_IMPLEMENTED
    ]
    found += [f"{t!r} is claimed and reported" for t in implemented if any(t in n for n in _left(spec))]
    found += [p for check in item.check if (p := _extra(spec, check))]
    return found


# still read wrongly by the rules (the first 60 characters of each idea): each is an xfail that must fail
# (strict), so a fix shows here
KNOWN_WRONG = frozenset(
    {
        # a booking of halls: nothing says the booking belongs to a hall and no rule guesses it
        "A hall rental API: halls and bookings; each booking has a st",
        "A dog walking app where owners book walks for their dogs; ea",
        "An event ticketing platform: events (title, date, capacity >",
        "A plant care tracker: plants with a species and a watering i",
        "An HR tool where managers approve leave requests; each leave",
    }
)
PARAMS = [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason="not read yet"))
    if c.idea[:60] in KNOWN_WRONG
    else c
    for c in CASES + SECOND_ROUND + FOUND + LEAD + THIRD_ROUND + FOURTH_ROUND
]


@pytest.mark.parametrize(
    "item",
    PARAMS,
    ids=[c.idea[:50] for c in CASES + SECOND_ROUND + FOUND + LEAD + THIRD_ROUND + FOURTH_ROUND],
)
def test_a_held_out_idea_is_read_as_a_person_would(item: Case) -> None:
    assert problems(item) == []


if (
    __name__ == "__main__"
):  # how many the extractor gets right: python tests/…/test_build_extractor_heldout.py
    for name, cases in (
        ("first round", CASES),
        ("second round", SECOND_ROUND),
        ("lead", LEAD),
        ("third round", THIRD_ROUND),
        ("fourth round", FOURTH_ROUND),
    ):
        wrong = {c.idea: p for c in cases if (p := problems(c))}
        for idea, found in wrong.items():
            print(f"- {idea[:70]}: {'; '.join(found)}")
        print(f"{name}: {len(cases) - len(wrong)} of {len(cases)} right")


GARDEN = (
    "A platform for a community garden association where members rent plots; each plot has a number between 1 "
    "and 200, a size in square meters, and a status one of free, rented or abandoned; members have a name, an "
    "email and a phone number; a member can rent at most 2 plots at a time; rentals have a start date and an end "
    "date and the end date must be after the start date; harvest logs record the weight in kilograms of what a "
    "plot produced on a date"
)


def test_the_users_garden_idea_gives_one_requirement_per_clause() -> None:
    spec = extract_spec(GARDEN)
    fields = _fields(spec)
    assert "member.phone_number" in fields and "member.phone" not in fields and "member.number" not in fields
    assert "member.rent" not in fields, "no numeric field named after a verb"
    [limit] = [r for r in spec.rules if r.kind.value == "limit"]
    assert (limit.entity, limit.parent) == ("rental", "member")
    assert [f.name for f in spec.entity("rental").fields if f.type.value in ("date", "datetime")] == [
        "starts_on",
        "ends_on",
    ]
    assert len([r for r in spec.rules if r.kind.value == "ordering"]) == 1
    implemented = [r.text for r in spec.requirements if r.status is not RequirementStatus.NOT_IMPLEMENTED]
    assert "members have a name, an email and a phone number" in implemented
    assert not [t for t in implemented if any(t in n for n in _left(spec))], "a clause claimed and reported"
    assert len(spec.requirements) <= 13, [r.text for r in spec.requirements]
    at_a_time = [r for r in spec.requirements if "at a time" in r.text]
    assert [r.status for r in at_a_time] == [RequirementStatus.NOT_IMPLEMENTED], (
        "every rental counts: said so"
    )


def test_a_refused_idea_is_quoted_to_a_whole_word() -> None:
    idea = "Something quite wonderful that everyone would enjoy using every single morning, honestly forever"
    try:
        extract_spec(idea)
    except InvalidInputError as error:
        quoted = re.search(r"'([^']*)'", error.message)
        assert quoted is not None and quoted.group(1).endswith(" …")
        shown = quoted.group(1).removesuffix(" …")
        assert idea.startswith(shown) and not idea[len(shown)].isalnum(), "cut mid-word"
        assert "English" not in error.message, "an English idea is not told it is not English"
    else:
        raise AssertionError("not refused")
