"""`neuralab`: one thin function per command: parse -> config -> library call -> print.

Commands live in one module per kind (train_cmds, inspect_cmds, experiment_cmds, serve_cmds, listings, config_cmd,
scratch); heavy imports (torch) happen inside the commands, so `neuralab --help` answers at once.
"""

from __future__ import annotations

import os
import sys

import typer

from neuralab.cli.app import app, console, err_console
from neuralab.errors import NeuralabError, UserError


def _add_subcommands() -> None:
    """Importing a command module registers its commands, in this order in `--help`."""
    import importlib

    for module in ("train_cmds", "federate_cmd", "inspect_cmds", "experiment_cmds", "serve_cmds", "listings"):
        importlib.import_module(f"neuralab.cli.{module}")
    from neuralab.cli.config_cmd import app as config_app
    from neuralab.cli.scratch import app as scratch_app

    app.add_typer(scratch_app, name="scratch")
    app.add_typer(config_app, name="config")


_add_subcommands()


def _is_usage_error(exc: BaseException) -> bool:
    """click's and typer's vendored click (typer >= 0.29) raise unrelated `ClickException` classes."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__) and hasattr(exc, "show")


def main() -> None:
    if int(os.environ.get("RANK", "0") or 0) > 0:
        console.quiet = True  # under torchrun rank 0 alone reports progress; errors still print
    try:
        app(standalone_mode=False)
    except UserError as err:
        err_console.print(f"[bold red]error:[/] {err.message}", highlight=False)
        if err.hint:
            err_console.print(f"  hint: {err.hint}", highlight=False)
        sys.exit(2)
    except NeuralabError as err:  # e.g. a clean stop on Ctrl-C with its checkpoint written
        err_console.print(f"[bold yellow]stopped:[/] {err}", highlight=False)
        sys.exit(130 if type(err).__name__ == "TrainingInterrupted" else 1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:
        if _is_usage_error(exc):  # unknown command or option, bad value, missing argument
            exc.show()  # type: ignore[attr-defined]
            sys.exit(getattr(exc, "exit_code", 2))
        raise


if __name__ == "__main__":
    main()
