"""Write a roster as XLSX the way a spreadsheet user would: areas as numeric cells.

Used by generate.py; also runnable alone to convert a roster CSV:

    python examples/make_xlsx.py examples/huafu/roster-gb18030.csv examples/huafu/roster.xlsx

Numeric area cells make the importer take its float path (openpyxl returns
floats), which is the case worth exercising. Workbook timestamps are fixed so
the content does not change from run to run.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl

AREA_HEADERS = {"area", "面积"}
FIXED_TIME = datetime(2024, 6, 1, 0, 0, 0)


def write_roster_xlsx(header: list[str], rows: list[list[str]], path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "业主名册"
    sheet.append(header)
    area_at = next(i for i, name in enumerate(header) if name in AREA_HEADERS)
    for row in rows:
        cells: list[object] = list(row)
        # float() of a 2-decimal text is the same double Excel stores for it.
        cells[area_at] = float(row[area_at])
        sheet.append(cells)
    for (cell,) in sheet.iter_rows(min_row=2, min_col=area_at + 1, max_col=area_at + 1):
        cell.number_format = "0.00"
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_fixed_zip(buffer.getvalue()))


def _fixed_zip(data: bytes) -> bytes:
    """Re-pack the XLSX with fixed entry times so regenerating gives identical bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps "modified" with the save time whatever we set.
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*",
                    rb"\g<1>" + FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode(),
                    content,
                )
            target.writestr(fixed, content)
    return out.getvalue()


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    text = source.read_bytes()
    encoding = "utf-8-sig" if text.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        decoded = text.decode(encoding)
    except UnicodeDecodeError:
        decoded = text.decode("gb18030")
    records = list(csv.reader(decoded.splitlines()))
    write_roster_xlsx(records[0], records[1:], target)


if __name__ == "__main__":
    main()
