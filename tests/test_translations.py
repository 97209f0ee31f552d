"""The catalogue is complete and current: every message translated, placeholders kept,
and messages.pot what the code and templates say today."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from newsletter import languages

ROOT = Path(__file__).parent.parent
TEMPLATE = languages.TRANSLATIONS / "messages.pot"
TRANSLATED = [language for language in languages.LANGUAGES if language != languages.ENGLISH]
# %(name)s (python-format) and {name} (the form's words, read by embed.js too).
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")


def catalogue(language: str):
    """The ``.po`` catalogue of ``language``."""
    path = languages.TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        return read_po(po, locale=language)


def msgids(path: Path) -> set:
    """The messages of a catalogue or template, by their id."""
    with path.open("rb") as po:
        return {
            message.id if isinstance(message.id, str) else tuple(message.id)
            for message in read_po(po)
            if message.id
        }


def placeholders(text: str) -> list[str]:
    """The placeholders of a message, sorted (a translation may reorder them)."""
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(language):
    problems = []
    for message in catalogue(language):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if message.fuzzy:
            problems.append(("fuzzy", ids[0]))
        if not all(string and string.strip() for string in strings):
            problems.append(("untranslated", ids[0]))
            continue
        expected = placeholders(ids[-1])
        problems.extend(
            ("placeholders differ", string)
            for string in strings
            if placeholders(string) != expected
        )
    assert problems == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_plurals_have_the_languages_forms(language):
    translations = catalogue(language)
    plural = [message for message in translations if message.pluralizable]
    assert plural
    for message in plural:
        assert len(message.string) == translations.num_plurals


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalogue_has_every_message_of_the_template_and_no_other(language):
    path = languages.TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    assert msgids(path) == msgids(TEMPLATE)


def test_the_template_is_what_the_code_says_today(tmp_path):
    extracted = tmp_path / "messages.pot"
    subprocess.run(
        [
            Path(sys.executable).parent / "pybabel",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            extracted,
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert msgids(extracted) == msgids(TEMPLATE), "run `make translations`"
