"""Where in Hydra an error came from, when its exception does not say: the override or
group choice Hydra was applying, or the output folder it was creating, read off the
frames of the traceback (Hydra's own locals name them)."""

from __future__ import annotations


def override_at_fault(exc: BaseException) -> str | None:
    """The override Hydra was parsing or applying when ``exc`` was raised, if any.

    Hydra's own exceptions name it, but others escape its override code unwrapped (an
    ``AssertionError`` from ``OmegaConf.update`` for ``metrics.0=x`` while ``metrics``
    is null, a ``RecursionError`` from the override grammar). Hydra's frames hold the
    override in a local named ``override``: its text, or a parsed ``Override``.
    """
    found = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if str(frame.f_globals.get("__name__", "")).startswith("hydra."):
            override = frame.f_locals.get("override")
            text = override if isinstance(override, str) else getattr(override, "input_line", None)
            if isinstance(text, str):
                found = text  # the innermost frame's wins
        tb = tb.tb_next
    return found


def group_choice_at_fault(exc: BaseException) -> str | None:
    """``group=value`` for a group override whose value is not an option name.

    Hydra checks neither the items of ``dataset=[0]`` nor what ``dataset=${...}``
    resolves to; its defaults-list code then fails with a bare ``TypeError`` or
    ``AssertionError``. Its frames hold the parsed group choices (``overrides``).
    """
    tb = exc.__traceback__
    while tb is not None:
        overrides = tb.tb_frame.f_locals.get("overrides")
        choices = getattr(overrides, "override_choices", None)
        if isinstance(choices, dict) and str(tb.tb_frame.f_globals.get("__name__", "")).startswith(
            "hydra."
        ):
            # ``group=x`` choices, then ``+group=x`` additions (GroupDefault: group, value)
            appended = getattr(overrides, "append_group_defaults", None) or []
            pairs = [*choices.items()]
            pairs += [(f"+{getattr(d, 'group', '')}", getattr(d, "value", "")) for d in appended]
            for key, value in pairs:
                items = value if isinstance(value, list) else [value]
                if any(not isinstance(item, str) or "${" in item for item in items):
                    shown = f"[{','.join(map(str, items))}]" if isinstance(value, list) else value
                    return f"{key}={shown}"
        tb = tb.tb_next
    return None


def output_dir_at_fault(exc: BaseException) -> str | None:
    """``hydra.run.dir`` or ``hydra.sweep.dir`` when ``exc`` is an OSError raised while
    Hydra (or a sweeper) created or wrote the job's output folder.

    Hydra's ``run_job`` holds the key it read the folder from in ``job_dir_key``; its
    launchers and sweepers create the sweep folder as a local ``sweep_dir``.
    """
    if not isinstance(exc, OSError):
        return None
    key = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if str(frame.f_globals.get("__name__", "")).startswith(("hydra.", "hydra_plugins.")):
            job_dir_key = frame.f_locals.get("job_dir_key")
            if isinstance(job_dir_key, str):
                key = job_dir_key
            elif "sweep_dir" in frame.f_locals:
                key = "hydra.sweep.dir"
        tb = tb.tb_next
    return key
