"""``python -m webmodel.cli``."""

import sys

from webmodel.cli.main import main

sys.exit(main())
