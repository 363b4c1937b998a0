"""`kyc-sandbox fixtures` without Faker (the image, a plain install) says what to install instead of a traceback."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from click.testing import CliRunner

from simulator.harness.commands import fixtures_command


def test_without_faker_the_command_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "faker" else real(name, *a))
    result = CliRunner().invoke(fixtures_command, ["--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "pip install 'kyc-sandbox[fixtures]'" in result.output
    assert list(tmp_path.iterdir()) == []
