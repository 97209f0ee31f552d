"""``python -m benchmarks``: run every measurement and write ``benchmarks/RESULTS.md``."""

from benchmarks.run import main

main()
