"""Moving SQLite's write-ahead log into the database file off the writer's path.

In WAL mode a commit appends the pages it changed to the ``-wal`` file; a *checkpoint* later copies them
into the database file and, with ``synchronous=NORMAL``, fsyncs both. By default the connection whose
commit pushes the log past 1,000 pages runs that checkpoint itself, inside its commit. For a worker's
ticks that is every ~60th tick of a chain, at several milliseconds each: two thirds of the mean commit
(measured: median commit 48 µs, mean 246 µs, p99 6.6 ms).

A :class:`WalCheckpointer` runs those checkpoints on a thread of its own instead, on a connection of its
own, at most once per ``interval`` while commits keep coming. A ``PASSIVE`` checkpoint never blocks the
writer, and Python's sqlite3 releases the GIL while SQLite works, so the fsync waits beside the worker
rather than in front of it. The writer keeps SQLite's own checkpoint as a safety net, at a higher mark
(``SAFETY_PAGES``): if this thread falls behind or dies, the log still cannot grow without bound.

Durability against a crash of the process (``kill -9``) is unchanged: a commit is in the log before the
checkpoint moves it. Against a power loss (``synchronous=NORMAL`` does not fsync at commit; a checkpoint
fsyncs the log first) the window moves: the commits of the last ``interval`` plus one checkpoint's time
can be taken back, where before it was up to 1,000 pages of commits — milliseconds of a busy chain, but
minutes of a quiet run.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading

import structlog
from sqlalchemy import Engine

log = structlog.get_logger(__name__)

# The writer's own autocheckpoint mark, in pages (SQLite's default is 1,000): only reached if this
# thread does not keep up. 10,000 pages of 4 KiB: a log of at most ~40 MiB between checkpoints.
SAFETY_PAGES = 10_000


class WalCheckpointer:
    """Checkpoints ``engine``'s SQLite database in the background after commits (see the module's text).

    :meth:`committed` is called after each commit (cheap: it sets an event); :meth:`close` stops the thread
    and waits for it, :meth:`stop` only asks it to end.
    """

    def __init__(self, engine: Engine, *, interval: float = 0.1) -> None:
        self._engine = engine
        self._interval = interval
        self._work = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="baton-wal-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        # set() takes the event's lock at every commit; once it is set, the next checkpoint (which clears
        # it just before it starts) covers this commit too.
        if not self._work.is_set():
            self._work.set()

    def stop(self) -> None:
        """Ask the thread to end (at once, or after the checkpoint it is making); do not wait for it."""
        self._stopping.set()
        self._work.set()

    def close(self) -> None:
        self.stop()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        raw: sqlite3.Connection | None = None
        try:
            # The loop asks `_stopping` itself, not only its wake-up: a stop that lands between the wait
            # below and the clear() after it has its wake-up cleared, but not its flag.
            while not self._stopping.is_set():
                self._work.wait()
                # Let commits gather: one checkpoint, and one fsync, per interval at most.
                if self._stopping.wait(self._interval):
                    return
                self._work.clear()
                if raw is None:
                    try:
                        raw = self._open()
                    except (sqlite3.Error, ValueError) as error:
                        log.warning("no background wal checkpoints", error=str(error))
                        return  # SQLite's own checkpoint, at SAFETY_PAGES, does the work
                try:
                    raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as error:  # e.g. the file went away: SQLite's own checkpoint remains
                    log.debug("wal checkpoint failed", error=str(error))
                    raw.close()
                    raw = None
        finally:
            if raw is not None:
                with contextlib.suppress(sqlite3.Error):
                    raw.close()

    def _open(self) -> sqlite3.Connection:
        # A plain connection to the same file, outside SQLAlchemy's pool: it is this thread's alone.
        database = self._engine.url.database
        if not database:
            raise ValueError("a WAL checkpointer needs a SQLite database file")
        raw = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        raw.execute("PRAGMA busy_timeout = 1000")
        return raw
