"""User-facing jobs: thin compositions of the layers below, one per CLI subcommand."""
