"""The import rules of docs/architecture.md, checked on the source.

- ``ingest`` and ``dashboard`` never import each other;
- nothing in ``quota`` outside its command-line package (``quota.cli``) imports ``ingest`` or
  ``dashboard``: the quota domain is the bottom floor.

Every import statement counts, including the ones inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_packages(path: Path) -> dict[str, int]:
    """Top-level package of every import in ``path`` → the first line that imports it."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            found.setdefault(name.split(".")[0], node.lineno)
    return found


def violations(package: str, forbidden: set[str], allowed_under: str | None = None) -> list[str]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if allowed_under and rel.startswith(allowed_under):
            continue
        for imported, line in imported_packages(path).items():
            if imported in forbidden:
                out.append(f"{rel}:{line} imports {imported}")
    return out


@pytest.mark.parametrize(
    ("package", "forbidden", "allowed_under"),
    [
        ("ingest", {"dashboard"}, None),
        ("dashboard", {"ingest"}, None),
        ("quota", {"ingest", "dashboard"}, "quota/cli/"),
    ],
)
def test_import_rules(package: str, forbidden: set[str], allowed_under: str | None) -> None:
    assert violations(package, forbidden, allowed_under) == []


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from dashboard import app\n    import ingest.jobs\n")
    assert imported_packages(module) == {"dashboard": 2, "ingest": 3}
