"""Readers of the files people hand in: rosters, motions and ballots (docs/roster.md).

Everything that reads a file lives here: CSV/XLSX tables (``tabular``), the
roster import (``roster``), the motions and ballots files of an offline count
(``motions_file``, ``ballots_file``) and the problem rows they report
(``problems``). They turn a file into the pure core's types (votes/model.py)
and import nothing but the core and crypto.
"""
