"""YAML configs parsed into frozen dataclasses, with errors that name the offending key.

Every config section is a dataclass; :func:`from_dict` walks its fields, so an unknown key, a missing
required key or a value of the wrong type fails at load time with its dotted path (``train.lr: expected float``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from llve.core.errors import UserInputError

T = TypeVar("T")


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(arg, value, where)
            except UserInputError as exc:
                errors.append(str(exc))
        raise UserInputError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {tp}")
    if origin is typing.Literal:
        if value not in args:
            raise UserInputError(f"{where}: expected one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise UserInputError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise UserInputError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        out = [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise UserInputError(f"{where}: expected a mapping, got {value!r}")
        return {k: _convert(args[1] if args else Any, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # YAML reads "1e-4" (no dot) as a string
        with contextlib.suppress(ValueError):
            return float(value)
    if isinstance(tp, type) and isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    name = getattr(tp, "__name__", str(tp))
    raise UserInputError(f"{where}: expected {name}, got {value!r}")


def from_dict(cls: type[T], data: Any, where: str = "") -> T:
    """Build dataclass ``cls`` from a mapping; unknown keys, missing keys and wrong types are errors."""
    label = where or cls.__name__
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserInputError(f"{label}: expected a mapping, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise UserInputError(f"unknown config key '{where + '.' if where else ''}{unknown[0]}'"
                             f" (allowed: {', '.join(fields)})")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        key = f"{where}.{name}" if where else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise UserInputError(f"missing config key '{key}'")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:  # __post_init__ validation
        raise UserInputError(f"{label}: {exc}") from None


def replace(cfg: T, **changes: Any) -> T:
    """``dataclasses.replace`` for overrides from the command line: a value ``__post_init__`` refuses is a one-line
    error, as the same value in the YAML file is."""
    try:
        return dataclasses.replace(cfg, **changes)
    except (ValueError, TypeError) as exc:
        raise UserInputError(f"{type(cfg).__name__}: {exc}") from None


def load_yaml(path: str | Path) -> dict:
    """Read a YAML file into a dict, with a one-line error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserInputError(f"config {path} is not a text file (YAML expected)") from None
    except yaml.YAMLError as exc:
        raise UserInputError(f"config {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise UserInputError(f"cannot read config {path}: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise UserInputError(f"config {path} must be a mapping at the top level")
    return data


def to_yaml(cfg: Any) -> str:
    """The resolved config as YAML, written into run folders so a run can be repeated."""
    return yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False)
