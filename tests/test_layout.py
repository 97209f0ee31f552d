"""README's layout section stays true to the tree, and every module says what it holds."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "newsletter"


def layout_block() -> str:
    """The code block under README's "## Layout" heading."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1]
    return section.split("```\n", 2)[1]


def modules() -> list[Path]:
    """Every Python module of the package, migrations' versions aside (Alembic names them)."""
    return sorted(path for path in PACKAGE.rglob("*.py") if "versions" not in path.parts)


def test_layout_names_every_module_and_folder():
    block = layout_block()
    named = set(re.findall(r"[\w.]+\.py|\w+/", block))
    missing = [
        str(path.relative_to(ROOT))
        for path in modules()
        if path.name not in named or f"{path.parent.name}/" not in named
    ]
    assert missing == []


def test_layout_names_nothing_that_is_gone():
    existing = {path.name for path in ROOT.rglob("*.py") if ".venv" not in path.parts}
    named = set(re.findall(r"[\w.]+\.py", layout_block()))
    assert named - existing == set()


def test_every_module_opens_with_a_docstring():
    undocumented = [
        str(path.relative_to(ROOT))
        for path in modules()
        if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert undocumented == []
