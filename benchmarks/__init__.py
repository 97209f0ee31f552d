"""Benchmarks: what a signup, a confirmation, an export and a mail cost.

Every figure is measured next to a baseline in the same run (a bare Flask view, the
``sqlite3``/``psql`` CSV dump, a bare ``smtplib`` loop), because the machines are shared
and noisy: the ratios travel, the absolute numbers do not. ``make bench`` runs it all
(``python -m benchmarks``) and writes ``benchmarks/RESULTS.md``.
"""
