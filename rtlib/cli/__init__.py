"""``python -m rtlib`` / ``rtlib``: the course's command line.

Each subcommand lives in its own module in this package and exposes
``register(subparsers)``; modules are discovered automatically, so adding a
subcommand is adding a file.  Every subcommand that uses randomness takes
``--seed``, and ``--json`` prints exactly one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtlib", description="Real-time communication vs instant messaging: the course's tools."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def emit(obj: dict, as_json: bool, text: str) -> None:
    """Print one JSON object (``--json``) or the human-readable text."""
    if as_json:
        print(json.dumps(obj, sort_keys=True, default=_jsonable))
    else:
        print(text)


def _jsonable(x):
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:  # bad parameters: one clear line, exit status 2 like argparse
        print(f"rtlib {args.command}: error: {exc}", file=sys.stderr)
        return 2
