"""``python -m app.cli``: the ``digitnet`` command."""

import sys

from app.cli.arguments import main

sys.exit(main())
