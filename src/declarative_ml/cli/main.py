"""``dml``: one console script, one subcommand per registry operation.

MLflow is imported only when a command runs, so ``dml --help`` is instant.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from declarative_ml import console

MODEL_REF_HELP = "NAME@ALIAS, NAME/VERSION or models:/NAME@ALIAS"


# command -> module under declarative_ml.cli that defines a function of the same name
_MODULES = {
    "evaluate": "evaluate",
    "reproduce": "lineage_cmds",
    "lineage": "lineage_cmds",
    "rules_check": "rules_cmds",
    "rules_plan": "rules_cmds",
    "runs_reap": "runs_cmds",
}


def _command(name: str) -> Callable[[Any, argparse.Namespace], None]:
    def run(client: Any, args: argparse.Namespace) -> None:
        import importlib

        module = importlib.import_module(
            f"declarative_ml.cli.{_MODULES.get(name, 'registry_cmds')}"
        )
        return getattr(module, name)(client, args)

    return run


def build_parser() -> argparse.ArgumentParser:
    """The ``dml`` argument parser with every subcommand."""

    def options(default: object) -> argparse.ArgumentParser:
        shared = argparse.ArgumentParser(add_help=False)
        shared.add_argument(
            "--tracking-uri",
            default=default,
            help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)",
        )
        shared.add_argument(
            "--json", action="store_true", default=default, help="print JSON instead of a table"
        )
        return shared

    # Accepted before and after the command; a subcommand must not reset what came before.
    common = options(argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="dml",
        parents=[options(None)],
        description="Registry operations for declarative_ml models (tables; --json for scripts).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = sub.add_parser("models", help="list or show registered models", parents=[common])
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    p = models_sub.add_parser(
        "list", help="registered models, or one model's versions", parents=[common]
    )
    p.add_argument("name", nargs="?")
    p.set_defaults(run=_command("models_list"))
    p = models_sub.add_parser(
        "show", help="one version: stage, run, metrics, decision", parents=[common]
    )
    p.add_argument("ref", metavar="MODEL_REF", help=MODEL_REF_HELP + " or NAME (latest)")
    p.set_defaults(run=_command("models_show"))

    p = sub.add_parser("metrics", help="metrics of a run or of a model version", parents=[common])
    p.add_argument("target", metavar="RUN_ID|MODEL_REF")
    p.set_defaults(run=_command("metrics"))

    p = sub.add_parser(
        "promote",
        help="move a version to staging or production",
        parents=[common],
        description="Checks the rules stored with the version's run against "
        "the current champion; --force --reason skips the check.",
    )
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("--to", required=True, choices=["staging", "production"])
    p.add_argument("--force", action="store_true", help="skip the rules (needs --reason)")
    p.add_argument("--reason", help="why, for the audit trail")
    p.set_defaults(run=_command("promote"))

    p = sub.add_parser("archive", help="archive a version (drops its aliases)", parents=[common])
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("--reason", help="why, for the audit trail")
    p.set_defaults(run=_command("archive"))

    p = sub.add_parser(
        "rollback", help="give @production back to the previous holder", parents=[common]
    )
    p.add_argument("name")
    p.add_argument("--reason", help="why, for the audit trail")
    p.set_defaults(run=_command("rollback"))

    p = sub.add_parser("history", help="the audit trail of a model", parents=[common])
    p.add_argument("name")
    p.set_defaults(run=_command("history"))

    p = sub.add_parser(
        "evaluate",
        help="score a registered model on a dataset",
        parents=[common],
        description="Scores MODEL_REF on every row of the dataset the overrides "
        "name (e.g. dataset=penguins), logs an evaluation run and prints its "
        "metrics beside the training test metrics.",
    )
    p.add_argument("ref", metavar="MODEL_REF", help=MODEL_REF_HELP)
    p.add_argument("overrides", nargs="+", metavar="OVERRIDE", help="e.g. dataset=NAME")
    p.set_defaults(run=_command("evaluate"))

    p = sub.add_parser(
        "reproduce",
        help="re-run a run's stored config and compare metrics",
        parents=[common],
        description="Re-runs the exact config snapshot stored with RUN_ID (only "
        "the data source is needed) and reports, metric by metric, whether the "
        "new run matches. Warns when the git commit or a dataset digest differs.",
    )
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="allowed absolute difference (default: 0 for scikit-learn and XGBoost, "
        "model.reproduce_tolerance for torch)",
    )
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="OVERRIDE",
        help="key=value changes to the snapshot, e.g. dataset.path=/new/place.csv",
    )
    p.set_defaults(run=_command("reproduce"))

    p = sub.add_parser(
        "lineage", help="version -> run -> config -> data -> commit", parents=[common]
    )
    p.add_argument("ref", metavar="MODEL_REF", help=MODEL_REF_HELP)
    p.set_defaults(run=_command("lineage"))

    runs = sub.add_parser("runs", help="housekeeping of tracked runs", parents=[common])
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    p = runs_sub.add_parser(
        "reap",
        help="end runs left RUNNING by a process that died",
        parents=[common],
        description="Marks KILLED each RUNNING run whose heartbeat (tag dml.heartbeat) "
        "stopped: silent for 4 of its heartbeat intervals, or --stale-after seconds. "
        "Runs not started by declarative_ml are left alone.",
    )
    p.add_argument(
        "--experiment", action="append", metavar="NAME", help="only this experiment (repeatable)"
    )
    p.add_argument(
        "--stale-after", type=float, default=None, metavar="SECONDS", help="silence that counts"
    )
    p.add_argument("--dry-run", action="store_true", help="list them; change nothing")
    p.set_defaults(run=_command("runs_reap"))

    rules = sub.add_parser(
        "rules", help="check rule files; plan what a rule change decides", parents=[common]
    )
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    p = rules_sub.add_parser(
        "check",
        help="validate promotion rule files",
        parents=[common],
        description="Checks syntax, and metric names against what the "
        "experiments using each file log. Exit 1 on any error.",
    )
    p.add_argument(
        "files", nargs="*", metavar="FILE", help="rule files (default: every conf/promotion/*.yaml)"
    )
    p.add_argument(
        "--github",
        action="store_true",
        help="print errors as GitHub annotations (::error file=...,line=...::...)",
    )
    p.set_defaults(run=_command("rules_check"), needs_store=False)
    p = rules_sub.add_parser(
        "plan",
        help="dry run: what this branch's rules decide vs --base",
        parents=[common],
        description="For the current champion and the latest candidates, "
        "what the rules of this working tree decide beside the rules at "
        "GIT_REF, as a markdown table. Changes nothing in the registry.",
    )
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="OVERRIDE",
        help="selects the experiment, e.g. experiment=xgb_baseline",
    )
    p.add_argument(
        "--base",
        default=None,
        metavar="GIT_REF",
        help="compare with the rules at this git ref (default: HEAD)",
    )
    p.add_argument(
        "--candidates",
        type=int,
        default=10,
        help="how many of the latest versions to decide on (default 10)",
    )
    p.set_defaults(run=_command("rules_plan"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run the subcommand, print errors on one line; returns the exit status."""
    from declarative_ml.app import debug_enabled, quiet_mlflow
    from declarative_ml.errors import DeclarativeMLError

    args = build_parser().parse_args(argv)
    args.json = bool(args.json)
    quiet_mlflow()
    try:
        if getattr(args, "needs_store", True) is False:
            args.run(None, args)
            return 0
        from mlflow import MlflowClient

        from declarative_ml.registry.client import RegistryClient
        from declarative_ml.tracking.store import check_reachable, resolve_tracking_uri

        uri = resolve_tracking_uri(args.tracking_uri)
        check_reachable(uri)

        args.run(RegistryClient(MlflowClient(tracking_uri=uri)), args)
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
    from declarative_ml.app import exit_without_teardown

    exit_without_teardown(main)
