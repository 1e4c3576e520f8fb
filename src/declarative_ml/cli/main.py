"""``dml``: one console script, one subcommand per registry operation.

MLflow is imported only when a command runs, so ``dml --help`` is instant.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from declarative_ml import console
from declarative_ml.cli.parser import build_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run the subcommand, print errors on one line; returns the exit status.

    A reader that stops early (``dml models list | head -1``) ends the command quietly
    with status 141, as it ends any Unix tool.
    """
    try:
        try:
            return _main(argv)
        finally:
            # Output still buffered would otherwise meet the closed pipe at interpreter exit.
            sys.stdout.flush()
    except BrokenPipeError:
        return console.stdout_closed()


def _main(argv: Sequence[str] | None) -> int:
    from declarative_ml.errors import DeclarativeMLError
    from declarative_ml.process import debug_enabled, quiet_mlflow

    args = build_parser().parse_args(argv)
    args.json = bool(args.json)
    quiet_mlflow()
    try:
        if getattr(args, "needs_store", True) is False:  # it opens its own store, if any
            args.run(None, args)
            return 0
        from declarative_ml.cli.stores import open_store

        args.run(open_store(args.tracking_uri), args)
    except BrokenPipeError:
        raise
    except DeclarativeMLError as exc:
        if debug_enabled():
            raise
        console.error(str(exc))
        return exc.exit_code
    except Exception as exc:
        if debug_enabled():
            raise
        console.error(f"{type(exc).__name__}: {exc} (set DML_DEBUG=1 for the traceback)")
        return 1
    return 0


def entry() -> None:
    """Console-script entry point."""
    from declarative_ml.process import exit_without_teardown

    exit_without_teardown(main)
