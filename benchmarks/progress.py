"""Progress lines on standard error, with the time since the run started."""

import sys
import time

STARTED = time.monotonic()


def say(message: str) -> None:
    """One line: ``[bench 123.4 s] message``."""
    print(f"[bench {time.monotonic() - STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


def elapsed() -> float:
    """Seconds since the run started."""
    return time.monotonic() - STARTED
