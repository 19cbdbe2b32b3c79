"""``python -m govsim.experiment COMMAND``: the experiment subcommands without the main CLI."""

import sys

from govsim.experiment.cli import main

sys.exit(main())
