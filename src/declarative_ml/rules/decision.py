"""What the rules decided: each rule's outcome, each gate's, and the stage reached.

Pure data. ``Decision.summary()`` and ``to_markdown()`` render through ``report.py``,
the one place decisions are written out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from declarative_ml.rules import report
from declarative_ml.rules.noise import NoiseCheck

#: The gates, in the order a candidate passes them: each counts only if the ones
#: before it passed (a model is registered, then staged, then put in production).
GATES: tuple[str, ...] = ("register", "staging", "production")

NO_CHAMPION = "no champion: rule reads champion.* and passes"


@dataclass(frozen=True)
class RuleOutcome:
    """How one rule fared.

    Attributes:
        text: The rule as written.
        why: The rule's stated reason, if any.
        held: Whether the rule holds (True also when skipped for lack of a champion).
        left: Value of the left side (None when it could not be computed).
        right: Value of the right side, the threshold (None likewise).
        reason: Why the rule failed or was skipped; None when it was simply compared.
        skipped_no_champion: True when the rule reads ``champion.*``, there is no
            champion, and the rule therefore passes without a comparison.
        noise: For a rule with ``confidence``: the bound it was decided on.
    """

    text: str
    why: str | None
    held: bool
    left: float | None = None
    right: float | None = None
    reason: str | None = None
    skipped_no_champion: bool = False
    noise: NoiseCheck | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (non-finite values become None); a rule decided with
        ``confidence`` adds ``noise``, what it was decided on."""
        noise = {"noise": self.noise.to_dict()} if self.noise is not None else {}
        return {
            "rule": self.text,
            "why": self.why,
            "held": self.held,
            "left": _json_float(self.left),
            "right": _json_float(self.right),
            "reason": self.reason,
            "skipped_no_champion": self.skipped_no_champion,
            **noise,
        }


def _json_float(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class GateResult:
    """The outcomes of one gate's rules.

    Attributes:
        name: ``register``, ``staging`` or ``production``.
        outcomes: One outcome per rule, in the order written.
    """

    name: str
    outcomes: tuple[RuleOutcome, ...]

    @property
    def passed(self) -> bool:
        """Whether every rule held (an empty gate passes)."""
        return all(outcome.held for outcome in self.outcomes)


@dataclass(frozen=True)
class Decision:
    """What the rules say about a candidate: per-gate outcomes and the stage it reaches.

    Attributes:
        gates: Results for ``register``, ``staging`` and ``production``, in that order.
        has_champion: Whether a champion's metrics were compared.
    """

    gates: dict[str, GateResult]
    has_champion: bool

    def reached(self, gate: str) -> bool:
        """Return whether ``gate`` and every gate before it passed."""
        return all(self.gates[name].passed for name in GATES[: GATES.index(gate) + 1])

    @property
    def register(self) -> bool:
        """Whether a model version should be created."""
        return self.reached("register")

    @property
    def target_stage(self) -> str:
        """``"production"``, ``"staging"`` or ``"none"`` (gates are cumulative)."""
        for stage in ("production", "staging"):
            if self.reached(stage):
                return stage
        return "none"

    def summary(self) -> str:
        """Return a one-line account, e.g. for the console (``report.summary``)."""
        return report.summary(self)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict with stable keys (stored as the run's decision artifact)."""
        return {
            "target_stage": self.target_stage,
            "register": self.register,
            "has_champion": self.has_champion,
            "gates": {
                name: {
                    "passed": result.passed,
                    "reached": self.reached(name),
                    "rules": [outcome.to_dict() for outcome in result.outcomes],
                }
                for name, result in self.gates.items()
            },
        }

    def to_markdown(self, title: str) -> str:
        """Render the decision as markdown, one table per gate (``report.markdown``).

        Args:
            title: The heading (e.g. the model name and version).

        Returns:
            Markdown text with columns Rule | Value | Threshold | Result.
        """
        return report.markdown(self, title)
