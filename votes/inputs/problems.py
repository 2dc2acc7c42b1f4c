"""Problems found in an input file, reported all at once.

Importers collect every problem before refusing a file, so that a committee
fixing a spreadsheet sees the whole list in one go rather than one error per
attempt. Row numbers follow spreadsheet numbering: the header is row 1, the
first data row is row 2; row 0 means the file as a whole. JSON inputs (the
motions file) use the 1-based position in the top-level list instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["InputError", "Problem", "UnreadableFileError"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one cell, row, column or file.

    ``column`` is the header as written in the file when the column exists,
    the canonical English column name when it is missing, ``None`` for a
    whole-row or whole-file problem. ``code`` is stable and machine-readable;
    ``message`` is for people (Chinese first, English beside).
    """

    row: int
    column: str | None
    code: str
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}

    def __str__(self) -> str:
        where = f"第{self.row}行 row {self.row}" if self.row else "文件 file"
        if self.column is not None:
            where += f", 列 column {self.column}"
        return f"{where}: {self.message}"


def _sort_key(problem: Problem) -> int:
    # Stable: within a row, problems keep the order the importer found them in.
    return problem.row


class InputError(ValueError):
    """An input file was refused; ``problems`` lists everything wrong with it."""

    problems: tuple[Problem, ...]
    source: str | None

    def __init__(self, problems: Iterable[Problem], *, source: str | None = None) -> None:
        self.problems = tuple(sorted(problems, key=_sort_key))
        if not self.problems:
            raise ValueError("InputError needs at least one problem")
        self.source = source
        head = f"{source}: " if source else ""
        count = len(self.problems)
        summary = "; ".join(str(p) for p in self.problems[:5])
        more = f" (+{count - 5} more)" if count > 5 else ""
        super().__init__(f"{head}{count} problem(s): {summary}{more}")


class UnreadableFileError(InputError):
    """The file could not be read as a table or JSON at all (missing, wrong format, encoding)."""
