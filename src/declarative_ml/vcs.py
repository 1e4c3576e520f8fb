"""Running ``git``: with a clean environment and no repository-configured programs.

The environment of a run may have been shaped by a config (``hydra.job.env_set``), and
git runs programs that configuration names: ``GIT_CONFIG_COUNT``/``KEY``/``VALUE`` set
``core.fsmonitor`` to a command, which ``git status`` runs. So git gets only ``PATH``,
``HOME`` and a fixed locale, and the hooks it could run are switched off on its command
line, where no environment or config file can turn them back on.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_KEPT = ("PATH", "HOME")
# Programs a repository or user config could make git run for the commands we use.
_NO_PROGRAMS = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null")


def git_environment() -> dict[str, str]:
    """The environment git runs with: ``PATH``, ``HOME``, a C locale; nothing else."""
    env = {k: os.environ[k] for k in _KEPT if k in os.environ}
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"})
    return env


def run_git(*args: str, cwd: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """``git -C CWD ARGS`` with :func:`git_environment`, output captured, never raising on a
    non-zero exit.

    Raises:
        FileNotFoundError: when git is not installed.
        subprocess.TimeoutExpired: after ``timeout`` seconds.
    """
    return subprocess.run(
        ["git", *_NO_PROGRAMS, "-C", str(cwd), *args],
        capture_output=True,
        check=False,
        timeout=timeout,
        env=git_environment(),
        stdin=subprocess.DEVNULL,
    )
