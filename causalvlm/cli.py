"""Command-line pieces every causalvlm command shares.

* :class:`CheckedParser` — argparse that refuses an option given twice (argparse would keep the last one
  silently: ``--dataset dtd --dataset eurosat`` trained on eurosat only) and abbreviated option names.
* :func:`integer` / :func:`number` — ``type=`` callables with ranges: ``--epochs 0``, ``--gamma inf`` and
  ``--seeds -1`` fail while parsing, as ``error: argument --epochs: ...`` with exit status 2.
* :meth:`CheckedParser.parse_checked` — parse, then check output folders and files and repeated values,
  before the command does any work (the study scripts of ``examples/cdc``).
* :meth:`CheckedParser.fail` — a :class:`~causalvlm.config_model.ConfigError` from a config check, reported
  the same way, under the option's name.
* :func:`settings_parser` / :func:`parse_settings` — one option per field of a settings model (the
  ``python -m causalvlm.worlds.pretrain`` and ``distill`` commands), checked by the model.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, NoReturn

from causalvlm.config_model import ConfigError, Distinct, bounds_text, check_value
from causalvlm.writable import check_file_writable, check_folder_writable

SEED_MAX = 2**32 - 1  # numpy and Lightning seeds are unsigned 32-bit


class CheckedParser(argparse.ArgumentParser):
    """An ArgumentParser whose options may each be given once, by their full name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        self._refuse_repeats(argv)
        return super().parse_args(argv, namespace)

    def _refuse_repeats(self, argv: list[str]) -> None:
        seen: dict[str, str] = {}  # dest → the option string first used for it
        for token in argv:
            if token == "--":
                break
            name = token.split("=", 1)[0]
            action = self._option_string_actions.get(name) if name.startswith("-") else None
            if action is None or isinstance(action, argparse._HelpAction):
                continue
            if action.dest in seen:
                first = seen[action.dest]
                self.error(
                    f"argument {first}: given more than once; give it once"
                    + (" with all its values" if action.nargs in ("+", "*") else "")
                )
            seen[action.dest] = name

    def parse_checked(
        self,
        args: Sequence[str] | None = None,
        folders: Sequence[str] = (),
        files: Sequence[str] = (),
        distinct: Sequence[str] = (),
    ) -> argparse.Namespace:
        """Parse, then check what the options point at, before any work: each of ``folders`` can be
        created and written, each of ``files`` (when given) can be written as a file, each list in
        ``distinct`` (when given) holds no value twice. A problem exits with status 2 naming the option."""
        namespace = self.parse_args(args)
        options = {dest: "--" + dest.replace("_", "-") for dest in (*folders, *files, *distinct)}
        try:
            for dest in distinct:
                if getattr(namespace, dest) is not None:
                    check_value(list(getattr(namespace, dest)), Annotated[list[Any], Distinct], dest)
            for dest in folders:
                check_folder_writable(getattr(namespace, dest), dest)
            for dest in files:
                if getattr(namespace, dest) is not None:
                    check_file_writable(getattr(namespace, dest), dest)
        except ConfigError as error:
            self.fail(error, options)
        return namespace

    def fail(self, error: ConfigError, options: Mapping[str, str] | None = None) -> NoReturn:
        """Exit 2 with ``error`` named by its option (``options`` maps config keys to option strings)."""
        option = (options or {}).get(error.key) or "--" + error.key.replace("_", "-")
        self.error(f"argument {option}: {error.problem}")


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """``type=`` for an integer option within ``[minimum, maximum]`` ("1.5", "1e3" and "x" are refused)."""
    wanted = " ".join(p for p in ("an integer", bounds_text(minimum, maximum)) if p)

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {value}")
        return value

    parse.__name__ = wanted  # argparse names the type in some messages
    return parse


def number(
    minimum: float | None = None, maximum: float | None = None, above: float | None = None
) -> Callable[[str], float]:
    """``type=`` for a finite real option within the bounds ("inf", "nan" and "fast" are refused)."""
    wanted = " ".join(p for p in ("a finite number", bounds_text(minimum, maximum, above)) if p)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        bad = (
            not math.isfinite(value)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
            or (above is not None and not value > above)
        )
        if bad:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    parse.__name__ = wanted
    return parse


def text(what: str = "a non-empty string") -> Callable[[str], str]:
    """``type=`` for a string option that must not be empty (``--out ''`` would write into the cwd)."""

    def parse(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(f"expected {what}, got an empty string")
        return value

    parse.__name__ = what
    return parse


seed = integer(0, SEED_MAX)


def settings_parser(settings: Any, description: str) -> CheckedParser:
    """One option per field of the pydantic model ``settings`` (``--batch-size`` for ``batch_size``, the
    field's alias when it has one), typed by its hint; a bool is a switch. Ranges are the model's to check."""
    parser = CheckedParser(description=description)
    kinds: dict[Any, Callable[[str], Any]] = {int: integer(), float: number(), str: str}
    for name, item in settings.model_fields.items():
        option = item.alias or name
        flag = f"--{option.replace('_', '-')}"
        if item.annotation is bool:
            parser.add_argument(flag, dest=option, action="store_true", help="default: off")
            continue
        parser.add_argument(
            flag,
            dest=option,
            type=kinds[item.annotation],
            default=item.default,
            help=f"default: {item.default!r}",
        )
    return parser


def parse_settings(
    settings: Any, description: str, argv: Sequence[str] | None, check: Callable[[Any], None]
) -> Any:
    """The ``settings`` model of a command line, checked by the model and then by ``check`` (what the
    options point at); a bad option exits with status 2, naming it."""
    parser = settings_parser(settings, description)
    args = parser.parse_args(argv)
    try:
        cfg = settings(**vars(args))
        check(cfg)
    except ConfigError as error:
        parser.fail(error)
    return cfg


def report_error(error: BaseException) -> int:
    """Print ``error: <message>`` on stderr and return the exit status: 2 for a refused input (a bad
    setting, a missing file), 1 for a fault during the work (a full disk, a refused permission), whose
    message names the file."""
    message = error.args[0] if isinstance(error, KeyError) and error.args else error
    print(f"error: {message}", file=sys.stderr)
    return 1 if isinstance(error, OSError) and not isinstance(error, FileNotFoundError) else 2


__all__ = ["SEED_MAX", "CheckedParser", "integer", "number", "report_error", "seed", "text"]
