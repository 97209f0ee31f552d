"""SECURITY.md names the tests that show each defence: every name must be a real test."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
# `test_file.py::test_name`, or `::test_name` for another test of the file named before it.
REFERENCE = re.compile(r"`(test_\w+\.py)?::(test_\w+)(?:\[[^\]]*\])?`")


def references(document: Path) -> list[tuple[str, str]]:
    """(file, test) pairs in the order the document names them."""
    found = []
    current = None
    for match in REFERENCE.finditer(document.read_text(encoding="utf-8")):
        current = match.group(1) or current
        assert current, f"{match.group(0)} names no file"
        found.append((current, match.group(2)))
    return found


def defined_tests(path: Path) -> set[str]:
    """The names of the test functions a test module defines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_test_security_md_names_exists():
    named = references(ROOT / "SECURITY.md")
    assert len(named) > 20  # the document still names its tests in this form
    missing = [
        f"{module}::{test}"
        for module, test in named
        if not (ROOT / "tests" / module).exists()
        or test not in defined_tests(ROOT / "tests" / module)
    ]
    assert missing == []
