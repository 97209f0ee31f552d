"""Facts about the machine and the software a run measured, for the report's header."""

import os
import platform
import sqlite3
import subprocess
from importlib.metadata import version
from pathlib import Path


def facts() -> dict[str, str]:
    """CPU, cores, memory, load, operating system, Python and the libraries that matter."""
    return {
        "CPU": _cpu_model(),
        "Cores": str(os.cpu_count()),
        "Memory": f"{_meminfo('MemTotal') / 1024 / 1024:.1f} GiB",
        "Load average at start (1, 5, 15 min)": ", ".join(
            f"{load:.2f}" for load in os.getloadavg()
        ),
        "Kernel": platform.release(),
        "Python": platform.python_version(),
        "SQLite (library in Python)": sqlite3.sqlite_version,
        "sqlite3 CLI": _first_word(["sqlite3", "--version"]),
        "psql": _first_word(["psql", "--version"], last=True),
        "gunicorn": version("gunicorn"),
        "Flask / SQLAlchemy / psycopg": " / ".join(
            version(name) for name in ("flask", "sqlalchemy", "psycopg")
        ),
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _meminfo(field: str) -> int:
    """A ``/proc/meminfo`` figure in KiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _first_word(command: list[str], last: bool = False) -> str:
    """The version a tool prints (first word, or last), or "not installed"."""
    try:
        words = subprocess.run(command, capture_output=True, text=True).stdout.split()
    except OSError:
        return "not installed"
    return (words[-1] if last else words[0]) if words else "unknown"
