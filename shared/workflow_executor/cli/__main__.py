"""``python -m workflow_executor.cli``: the ``wfx`` command."""

import sys

from . import main

sys.exit(main())
