"""The README's Python example runs as written."""

from __future__ import annotations

import re

import pytest

from engine.config import PROJECT_ROOT


def test_the_engine_api_example_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert blocks, "the README should show the engine API in a python block"
    monkeypatch.chdir(PROJECT_ROOT)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    output = capsys.readouterr().out
    assert "A6: predicted score" in output
    assert output.count(" · ") >= 20
