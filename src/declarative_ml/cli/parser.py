"""The ``dml`` argument parser: every subcommand, its arguments and help, and argparse's
errors as one ``error:`` line naming the argument."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any, NoReturn

from declarative_ml import console

MODEL_REF_HELP = "NAME@ALIAS, NAME/VERSION, models:/NAME@ALIAS or a run's models:/m-ID"
EPILOG = (
    "dml works on models already trained. To train (and apply the promotion rules): "
    "python -m declarative_ml experiment=xgb_baseline; its --help lists the config groups."
)
# What to do instead, for a choice argparse refuses: (argument, value) -> hint.
_CHOICE_HINTS = {
    ("--to", "archived"): "use dml archive NAME VERSION",
    ("--to", "none"): "use dml archive NAME VERSION to take a version out of service",
}
_ARGUMENT = re.compile(r"^argument ([^:]+): (.*)$", re.DOTALL)
_CHOICE = re.compile(r"^invalid choice: (.*) \(choose from (.*)\)$", re.DOTALL)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``error:`` line naming the argument
    (argparse prints the usage over several lines first); exit status 2, as argparse."""

    def error(self, message: str) -> NoReturn:
        console.error(usage_error(self.prog, message))
        self.exit(2)


def usage_error(prog: str, message: str) -> str:
    """argparse's ``message`` as one line: ``--to: 'x' is not one of a, b (hint)``.

    Args:
        prog: the (sub)command, e.g. ``dml promote``; named when no argument is.
        message: what argparse says, e.g. ``argument --to: invalid choice: ...``.

    Returns:
        The line, without the ``error:`` prefix.
    """
    match = _ARGUMENT.match(message)
    if match is None:  # missing or unrecognised arguments: name the command
        return f"{prog}: {' '.join(message.split())} (see {prog} --help)"
    argument, problem = match.groups()
    choice = _CHOICE.match(problem)
    if choice is None:
        return f"{argument}: {' '.join(problem.split())}"
    value, allowed = choice.groups()
    allowed = ", ".join(a.strip().strip("'") for a in allowed.split(","))
    hint = _CHOICE_HINTS.get((argument, value.strip("'")))
    return f"{argument}: {value} is not one of {allowed}" + (f" ({hint})" if hint else "")


def reason_text(text: str) -> str:
    """``--reason``: one non-blank line, as it becomes one row of ``dml history``.

    Raises:
        argparse.ArgumentTypeError: for blank text, or text with a line break or
            another control character.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r} is blank; say why in one line (it goes into the audit trail)"
        )
    if any(not (c.isprintable() or c == " ") for c in text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not one line of text (no line breaks or control characters); "
            "say why in one line"
        )
    return text.strip()


# command -> module under declarative_ml.cli that defines a function of the same name
_MODULES = {
    "evaluate": "evaluate",
    "reproduce": "lineage_cmds",
    "lineage": "lineage_cmds",
    "rules_check": "rules_check",
    "rules_plan": "rules_plan",
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

    def options(default: object) -> _Parser:
        shared = _Parser(add_help=False)
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
    parser = _Parser(
        prog="dml",
        parents=[options(None)],
        description="Registry operations for declarative_ml models (tables; --json for scripts).",
        epilog=EPILOG,
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
    p.add_argument("--reason", type=reason_text, help="why, for the audit trail (one line)")
    p.set_defaults(run=_command("promote"))

    p = sub.add_parser("archive", help="archive a version (drops its aliases)", parents=[common])
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("--reason", type=reason_text, help="why, for the audit trail (one line)")
    p.set_defaults(run=_command("archive"))

    p = sub.add_parser(
        "rollback", help="give @production back to the previous holder", parents=[common]
    )
    p.add_argument("name")
    p.add_argument("--reason", type=reason_text, help="why, for the audit trail (one line)")
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
    p.add_argument(
        "--config-dir",
        metavar="DIR",
        help="a config folder to look in besides the model's run's own (as for a run)",
    )
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
    p.add_argument(
        "--config-dir",
        metavar="DIR",
        help="a config folder to look in besides the package's (as --config-dir for a run)",
    )
    # The store may come from a tracking.uri override: the command opens it once composed.
    p.set_defaults(run=_command("rules_plan"), needs_store=False)
    return parser
