"""``python -m infra.cli``: the ``switchboard`` command."""

import sys

from infra.cli import main

sys.exit(main())
