"""``python -m soundstage``: the same entry point as the ``soundstage`` command."""

from soundstage.cli import main

raise SystemExit(main())
