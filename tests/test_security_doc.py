"""SECURITY.md names the tests that show each defence: every name must be a real test."""

import ast
import re
from pathlib import Path

from tests.mutants import MUTANTS
from tests.mutants import Mutant

ROOT = Path(__file__).parent.parent
# `test_file.py::test_name`, or `::test_name` for another test of the file named before it.
REFERENCE = re.compile(r"`(test_\w+\.py)?::(test_\w+)(?:\[[^\]]*\])?`")


def references(text: str) -> list[tuple[str, str]]:
    """(file, test) pairs in the order the text names them."""
    found = []
    current = None
    for match in REFERENCE.finditer(text):
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
    named = references((ROOT / "SECURITY.md").read_text(encoding="utf-8"))
    assert len(named) > 20  # the document still names its tests in this form
    missing = [
        f"{module}::{test}"
        for module, test in named
        if not (ROOT / "tests" / module).exists()
        or test not in defined_tests(ROOT / "tests" / module)
    ]
    assert missing == []


def threat_rows() -> list[str]:
    """The rows of SECURITY.md's threat table, header and rule aside."""
    lines = (ROOT / "SECURITY.md").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.startswith("| **")]


def catches(mutant: Mutant, named: list[tuple[str, str]]) -> bool:
    """Whether one of the mutant's tests is a test (or the file of a test) the row names."""
    for entry in mutant.tests:
        module, _, test = entry.removeprefix("tests/").partition("::")
        if any(module == row_module and test in ("", row_test) for row_module, row_test in named):
            return True
    return False


def test_every_threat_has_a_mutant_its_tests_catch():
    """`make mutants` breaks each promise once: a row no mutant stands for is unguarded."""
    rows = threat_rows()
    assert len(rows) > 10
    unguarded = [
        row.split("|")[1].strip()
        for row in rows
        if not any(catches(mutant, references(row)) for mutant in MUTANTS)
    ]
    assert unguarded == []
