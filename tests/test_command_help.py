"""What an operator sees of the ``newsletter`` console script itself."""

import subprocess
import sys
from pathlib import Path

COMMAND = Path(sys.executable).parent / "newsletter"


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the installed console script with its own instance folder."""
    return subprocess.run(
        [str(COMMAND), *args],
        capture_output=True,
        text=True,
        env={"NEWSLETTER_INSTANCE_PATH": str(tmp_path / "instance"), "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=60,
    )


def test_help_lists_the_products_commands_only(tmp_path):
    result = run(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:")[1].split()
    for command in ("serve", "worker", "db", "newsletters", "admins", "tokens", "export"):
        assert command in commands
    # Flask's developer options and extensions' plugin commands are not the operator's.
    for hidden in ("--app", "--env-file", "--debug", "limiter", "Flask"):
        assert hidden not in result.stdout
    assert run(tmp_path, "limiter").returncode != 0


def test_version_is_the_products(tmp_path):
    result = run(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("newsletter, version ")
