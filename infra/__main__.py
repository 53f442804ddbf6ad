"""Entry point: ``python -m infra`` (see :mod:`infra.cli`)."""

from __future__ import annotations

import sys

from infra.cli import main

if __name__ == "__main__":
    sys.exit(main())
