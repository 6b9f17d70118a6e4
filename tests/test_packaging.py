"""The three generically named packages are imported from this checkout."""

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["quota", "ingest", "dashboard"])
def test_package_comes_from_this_checkout(name: str) -> None:
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().parent == ROOT / name
