"""`baton` as a real subprocess, with this folder's test workflows importable: for the tests that kill it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FLOWS = Path(__file__).parent


def baton(db: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(FLOWS)}
    return subprocess.Popen(
        [sys.executable, "-m", "baton.cli", "--db", db, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
