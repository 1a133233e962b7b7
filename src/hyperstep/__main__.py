"""``python -m hyperstep`` is the ``hyperstep`` command."""

from hyperstep.cli import main

main()
