"""``python -m quota.cli``: the same as the ``quotawatch`` console script."""

import sys

from quota.cli.main import main

sys.exit(main())
