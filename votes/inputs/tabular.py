"""Read a CSV or XLSX file into rows of text, and bind its columns by header.

Every cell arrives as text so that the importers parse numbers from what the
user wrote (never through binary floats). CSV may be UTF-8 (with or without a
byte-order mark), GB18030 (what Excel in China writes as "CSV") or UTF-16 with
a byte-order mark (Excel "Unicode text"); commas or tabs separate cells.
XLSX numbers come out of openpyxl as ``int``/``float``; a float is turned into
the shortest decimal that round-trips it (``repr``), which is exactly what the
cell displayed unless the value was computed, so importers can still refuse
values with too many decimals instead of rounding them silently.

Row numbers are spreadsheet row numbers (header = row 1). The first row that
is not blank is the header; blank rows are skipped but keep their numbers.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from votes.inputs.problems import InputError, Problem, UnreadableFileError

__all__ = [
    "BoundTable",
    "Column",
    "Table",
    "TableRow",
    "bind_columns",
    "cell_text",
    "decode_text",
    "normalize_header",
    "normalize_text",
    "parse_csv",
    "parse_enum_cell",
    "parse_word",
    "raise_if",
    "read_file",
    "read_table",
    "text_problem",
]

_E = TypeVar("_E", bound=StrEnum)

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True, slots=True)
class TableRow:
    row: int  # spreadsheet row number (header is row 1)
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Table:
    source: str
    header: tuple[str, ...]
    header_row: int
    rows: tuple[TableRow, ...]


def normalize_text(value: str) -> str:
    """Identifier text as compared by importers: NFKC (full-width ``１`` -> ``1``), trimmed."""
    return unicodedata.normalize("NFKC", value).strip()


def parse_word(value: str, enum: type[_E], words: Mapping[str, _E]) -> _E | None:
    """The member a normalised cell names, or None.

    A cell names a member by one of ``words`` (the Chinese word, as written) or
    by the member's own value in any letter case.
    """
    if value in words:
        return words[value]
    try:
        return enum(value.casefold())
    except ValueError:
        return None


def parse_enum_cell(text: str, enum: type[_E], words: Mapping[str, _E], default: _E) -> _E | None:
    """:func:`parse_word` of a raw cell; ``default`` when the cell is empty."""
    value = normalize_text(text)
    if not value:
        return default
    return parse_word(value, enum, words)


# Unicode control characters (category Cc: C0, DEL, C1). PostgreSQL refuses NUL in
# text while SQLite stores it; no identifier should hold any of them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def text_problem(value: str, column: Column) -> tuple[str, str] | None:
    """(code, message) if a normalised identifier ``value`` cannot be stored as is.

    ``control-character`` for a control character (invisible, and refused by
    PostgreSQL but not SQLite for NUL), ``too-long`` beyond ``column.max_length``
    characters: every backend then accepts and refuses the same files.
    """
    if _CONTROL.search(value):
        return (
            "control-character",
            f"{column.aliases[0] if column.aliases else column.name}含有控制字符 "
            f"{column.name} contains a control character",
        )
    if column.max_length is not None and len(value) > column.max_length:
        return (
            "too-long",
            f"{column.aliases[0] if column.aliases else column.name}过长"
            f"（{len(value)} 个字符，最多 {column.max_length} 个） "
            f"{column.name} is {len(value)} characters long; at most {column.max_length}",
        )
    return None


_UNIT_SUFFIX = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")


def normalize_header(value: str) -> str:
    """Header as matched: NFKC, trimmed, case-folded, ``-``/space -> ``_``, no trailing ``(m²)``."""
    text = normalize_text(value)
    text = _UNIT_SUFFIX.sub("", text)
    text = re.sub(r"[\s\-]+", "_", text.strip())
    return text.casefold()


def cell_text(value: object) -> str:
    """One XLSX cell value as the text a user would have typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        # repr is the shortest string that round-trips the double; Decimal
        # expands exponent notation so "1e+16" reads as digits.
        text = format(Decimal(repr(value)), "f")
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def decode_text(data: bytes, *, source: str) -> str:
    """Decode CSV/JSON bytes: BOM-marked UTF-8/UTF-16 first, then UTF-8, then GB18030."""
    if data.startswith(_UTF8_BOM):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith(_UTF16_BOMS):
        encodings = ("utf-16",)
    else:
        # Valid UTF-8 is almost never also meaningful GB18030, so UTF-8 goes first.
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFileError(
        [
            Problem(
                0,
                None,
                "bad-encoding",
                "无法识别文件编码，请保存为 UTF-8 或 GB18030 "
                "cannot decode the file; save it as UTF-8 or GB18030",
            )
        ],
        source=source,
    )


def _table_from_records(source: str, records: Sequence[Sequence[str]]) -> Table:
    header: tuple[str, ...] | None = None
    header_row = 0
    rows: list[TableRow] = []
    for number, record in enumerate(records, start=1):
        cells = tuple(record)
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header, header_row = cells, number
        else:
            rows.append(TableRow(number, cells))
    if header is None:
        raise UnreadableFileError(
            [
                Problem(
                    0, None, "empty-file", "文件为空，没有表头 the file is empty (no header row)"
                )
            ],
            source=source,
        )
    return Table(source=source, header=header, header_row=header_row, rows=tuple(rows))


def parse_csv(text: str, *, source: str = "<text>") -> Table:
    """Parse already-decoded CSV text (comma or tab separated)."""
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise UnreadableFileError(
            [Problem(0, None, "bad-csv", f"CSV 格式错误 malformed CSV: {exc}")], source=source
        ) from exc
    return _table_from_records(source, records)


def _read_xlsx(data: bytes, *, source: str) -> Table:
    import openpyxl  # noqa: PLC0415 - lazily: only XLSX users pay for it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a damaged file
        raise UnreadableFileError(
            [Problem(0, None, "bad-xlsx", f"无法读取 XLSX 文件 cannot read the XLSX file: {exc}")],
            source=source,
        ) from exc
    try:
        sheet = workbook.worksheets[0]  # the first sheet, whatever is active
        records = [
            [cell_text(value) for value in values] for values in sheet.iter_rows(values_only=True)
        ]
    finally:
        workbook.close()
    return _table_from_records(source, records)


def read_file(path: Path | str) -> tuple[str, bytes]:
    """The file's name (the ``source`` of its problems) and its bytes.

    Raises :class:`UnreadableFileError` (``unreadable``) when it cannot be read.
    """
    path = Path(path)
    source = path.name
    try:
        return source, path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(
            [Problem(0, None, "unreadable", f"无法读取文件 cannot read the file: {exc.strerror}")],
            source=source,
        ) from exc


def read_table(path: Path | str) -> Table:
    """Read a CSV or XLSX file (detected from its content, not its name)."""
    source, data = read_file(path)
    if data.startswith(_ZIP_MAGIC):
        return _read_xlsx(data, source=source)
    if data.startswith(_OLE2_MAGIC):
        raise UnreadableFileError(
            [
                Problem(
                    0,
                    None,
                    "xls-not-supported",
                    "不支持旧版 .xls，请另存为 .xlsx 或 CSV "
                    "legacy .xls is not supported; save as .xlsx or CSV",
                )
            ],
            source=source,
        )
    return parse_csv(decode_text(data, source=source), source=source)


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class Column:
    """A column an importer understands: canonical English name plus accepted other headers.

    ``max_length`` is the most characters one value of the column may have (after
    :func:`normalize_text`), when it is stored in a column of that size.
    """

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    max_length: int | None = None

    @property
    def label(self) -> str:
        """How the column is named in messages: Chinese first, English beside."""
        return f"{self.aliases[0]} {self.name}" if self.aliases else self.name


@dataclass(frozen=True, slots=True)
class BoundTable:
    table: Table
    positions: dict[str, int]  # canonical name -> cell index
    headers: dict[str, str]  # canonical name -> header as written
    unknown: tuple[str, ...] = field(default=())  # headers not understood, as written

    def has(self, name: str) -> bool:
        return name in self.positions

    def cell(self, row: TableRow, name: str) -> str:
        """The raw cell text of ``name`` in ``row`` ('' when the column is absent or short)."""
        index = self.positions.get(name)
        if index is None or index >= len(row.cells):
            return ""
        return row.cells[index]

    def column_of(self, name: str) -> str:
        """The column as it should be named in a problem: the header as written, else the name."""
        return self.headers.get(name, name)

    def unknown_column_warnings(self) -> list[Problem]:
        """One warning per header not understood: such a column is ignored, never an error."""
        return [
            Problem(
                self.table.header_row,
                header,
                "unknown-column",
                f"未识别的列，已忽略 unknown column ignored: '{header}'",
            )
            for header in self.unknown
        ]


def bind_columns(table: Table, columns: Sequence[Column]) -> tuple[BoundTable, list[Problem]]:
    """Match the header against ``columns``; problems for missing or doubled columns.

    Headers are trimmed, NFKC-normalised and case-insensitive; a trailing unit in
    brackets ("面积(㎡)") is ignored. Unknown headers are returned, not refused.
    """
    lookup: dict[str, Column] = {}
    for column in columns:
        for header in (column.name, *column.aliases):
            lookup[normalize_header(header)] = column
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    unknown: list[str] = []
    problems: list[Problem] = []
    row = table.header_row
    for index, raw in enumerate(table.header):
        if not raw.strip():
            continue
        found = lookup.get(normalize_header(raw))
        if found is None:
            unknown.append(raw.strip())
            continue
        column = found
        if column.name in positions:
            problems.append(
                Problem(
                    row,
                    raw.strip(),
                    "duplicate-column",
                    f"列重复 column given twice: {column.label} "
                    f"('{headers[column.name]}' and '{raw.strip()}')",
                )
            )
            continue
        positions[column.name] = index
        headers[column.name] = raw.strip()
    for column in columns:
        if column.required and column.name not in positions:
            problems.append(
                Problem(
                    row,
                    column.name,
                    "missing-column",
                    f"缺少必填列 missing required column: {column.label}",
                )
            )
    bound = BoundTable(table=table, positions=positions, headers=headers, unknown=tuple(unknown))
    return bound, problems


def raise_if(problems: Sequence[Problem], *, source: str) -> None:
    """Raise :class:`InputError` when there is any problem."""
    if problems:
        raise InputError(problems, source=source)
