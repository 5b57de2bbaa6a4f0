"""`python -m baton.cli` is `baton`."""

import sys

from baton.cli import main

sys.exit(main())
