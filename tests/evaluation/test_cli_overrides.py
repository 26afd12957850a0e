"""``llve test`` overrides from the command line are checked like the YAML they replace."""
import pytest
import yaml

from llve.cli import main


@pytest.mark.parametrize("value", ["1.5", "bogus", "nan"])
def test_a_bad_exposure_override_is_one_line(tmp_path, capsys, value):
    cfg = tmp_path / "t.yaml"
    cfg.write_text(yaml.safe_dump({"method": "stcd", "data": {"kind": "none", "root": str(tmp_path)}}))
    assert main(["test", "-c", str(cfg), "--out", str(tmp_path / "res"), "--quiet", "--exposure", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("llve: error: ") and err.count("\n") == 1 and "exposure" in err
    assert not (tmp_path / "res").exists()
