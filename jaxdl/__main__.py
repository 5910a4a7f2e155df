"""``python -m jaxdl``: the same as the ``jaxdl`` command."""

import sys

from jaxdl.cli import main

sys.exit(main())
