"""``python -m batchnet``: the same as the ``batchnet`` command."""

import sys

from batchnet.cli import main

sys.exit(main())
