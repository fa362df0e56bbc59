"""Exit status of every ``speechtl`` command (see the package docstring)."""

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3
