"""Typed configs reject what they do not know; atomic outputs appear whole or not at all."""
from dataclasses import dataclass, field
from typing import Literal

import pytest

from llve.core.atomic import atomic_output
from llve.core.config import from_dict, load_yaml
from llve.core.errors import UserInputError


@dataclass(frozen=True)
class Inner:
    lr: float = 1e-3
    size: tuple[int, int] | None = None


@dataclass(frozen=True)
class Outer:
    name: str
    mode: Literal["a", "b"] = "a"
    inner: Inner = field(default_factory=Inner)
    steps: list[int] = field(default_factory=list)


def test_parses_nested_and_converts():
    cfg = from_dict(Outer, {"name": "x", "inner": {"lr": "2e-4", "size": [4, 8]}, "steps": [1, 2]})
    assert cfg.inner == Inner(lr=2e-4, size=(4, 8)) and cfg.steps == [1, 2]


@pytest.mark.parametrize("data,message", [
    ({"name": "x", "inner": {"lrr": 1}}, "unknown config key 'inner.lrr'"),
    ({"name": "x", "mode": "c"}, "mode: expected one of"),
    ({"name": "x", "inner": {"lr": "fast"}}, "inner.lr: expected float"),
    ({"name": "x", "steps": [1, "two"]}, r"steps\[1\]: expected int"),
    ({"name": "x", "inner": {"size": [1, 2, 3]}}, "inner.size"),
    ({}, "missing config key 'name'"),
    ({"name": True}, "name: expected str"),
])
def test_errors_name_the_key(data, message):
    with pytest.raises(UserInputError, match=message):
        from_dict(Outer, data)


def test_bool_is_not_an_int():
    @dataclass(frozen=True)
    class C:
        n: int = 1

    with pytest.raises(UserInputError, match="n: expected int"):
        from_dict(C, {"n": True})


def test_load_yaml_errors(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        load_yaml(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(UserInputError, match="not valid YAML"):
        load_yaml(tmp_path / "bad.yaml")


def test_atomic_file_and_folder(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with atomic_output(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "stale.png").write_text("x")
    with atomic_output(folder, is_dir=True) as tmp:
        (tmp / "a.png").write_text("a")
    assert [p.name for p in folder.iterdir()] == ["a.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "out.txt"]


def test_unwritable_target_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserInputError, match="cannot write"):
        with atomic_output(blocker / "out.mp4"):
            pass
