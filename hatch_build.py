"""Hatch build hook: compile the translations (``.po`` to ``.mo``) into the wheel.

The ``.mo`` files are built, never committed (``.gitignore``), so a wheel, or an editable
install, made from a fresh clone compiles them here; ``make`` recompiles them when a
``.po`` file changes.
"""

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

CATALOGUES = "newsletter/translations/*/LC_MESSAGES/*.po"


class CompileTranslations(BuildHookInterface):
    """Writes each catalogue's ``.mo`` beside its ``.po`` and ships it in the wheel."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Compile every catalogue; git-ignored files must be force-included."""
        root = Path(self.root)
        for source in sorted(root.glob(CATALOGUES)):
            compiled = source.with_suffix(".mo")
            with source.open("rb") as po:
                catalog = read_po(po)
            with compiled.open("wb") as mo:
                write_mo(mo, catalog)
            build_data["force_include"][str(compiled)] = str(compiled.relative_to(root))
