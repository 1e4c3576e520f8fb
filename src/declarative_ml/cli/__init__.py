"""``dml``: registry operations from the shell (tables by default, ``--json`` for scripts)."""
