"""The ideas the build tests and benchmark build."""

LIBRARY = "A REST API for a small library: books, authors and loans; members borrow books"
TIMER_JOB = "A serverless timer job that every night cleans up expired reservations; rooms have reservations"
FLASK_APP = "A small web app for a bakery: customers place orders; products with name, price and is_vegan"
