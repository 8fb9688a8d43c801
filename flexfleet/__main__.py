"""`python -m flexfleet` is the same as the `flexfleet` command."""

import sys

from flexfleet.cli import main

sys.exit(main())
