"""Turn an uploaded file into its tables (private helper of :mod:`segmentation.ingest`).

A source holds one table (text, Parquet), one per sheet (Excel) or one per member (ZIP). Text
and spreadsheet cells come back as stripped strings; typed Parquet columns keep their types.

The format is decided from the bytes (magic numbers), not from the file name: exports are often
renamed by hand, and a PNG called ``orders.csv`` must be refused with a clear sentence instead of
being decoded as text. Every third-party reader call is guarded so that a malformed file surfaces
as :class:`~segmentation.errors.DataError`, never as a library exception.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from zlib import error as zlib_error

import polars as pl

from ._ingest_parse import UNTIDY, rare_matches
from .errors import DataError

DEFAULT_MAX_BYTES = 2 * 1024**3

# Sniffing looks at the start of the file only; a header line longer than this is not a header.
_SNIFF_BYTES = 1024 * 1024
_SNIFF_RECORDS = 200
# A spreadsheet-like file may start with a title block; the header is searched in these rows.
_MAX_PREAMBLE = 20
_MAX_COLUMNS = 2000
_DELIMITERS = (",", "\t", ";", "|")
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}

_T = TypeVar("_T")


@dataclass(frozen=True)
class TableMeta:
    """How a file was read: enough for the UI to show a preview and for the load report.

    ``header_row`` is the spreadsheet-style row number of the header (1 when the header is the
    first line); data row ``i`` (0-based) is row ``header_row + 1 + i`` of the file.
    """

    source_name: str
    file_format: str  # "csv", "xlsx", "xls" or "parquet" (of the table itself, also inside a ZIP)
    encoding: str | None
    delimiter: str | None
    header_row: int
    sheet: str | None
    date1904: bool
    n_bytes: int
    notes: tuple[str, ...] = ()
    notes_zh: tuple[str, ...] = ()
    has_header: bool = True
    # (table label, data rows) for every sheet or archive member read together; empty for one table.
    parts: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["notes"] = list(self.notes)
        out["notes_zh"] = list(self.notes_zh)
        out["parts"] = [list(p) for p in self.parts]
        return out


@dataclass(frozen=True, eq=False)
class Table:
    """One table found in a source: a whole text or Parquet file, one sheet, one archive member.

    ``label`` is what a caller passes as ``sheet=`` to pick it: the sheet name for a workbook,
    the member's path for an archive (``member › sheet`` for a workbook inside an archive).
    """

    label: str
    frame: pl.DataFrame
    meta: TableMeta


Note = tuple[str, str]  # (English, Chinese)


def _split(notes: list[Note] | tuple[Note, ...]) -> dict[str, tuple[str, ...]]:
    return {"notes": tuple(en for en, _ in notes), "notes_zh": tuple(zh for _, zh in notes)}


# ---------------------------------------------------------------------------------------------
# Source -> bytes


def source_bytes(source: Any, *, max_bytes: int) -> tuple[bytes, str]:
    """Return the raw bytes and a display name of ``source`` (path, bytes or file-like)."""
    limit_msg = (
        f"The file is larger than the {_human_size(max_bytes)} limit. Split it into smaller files "
        "or export fewer columns."
    )
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = "upload"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = path.name
        try:
            size = path.stat().st_size
            if path.is_dir():
                raise DataError(f"“{name}” is a folder, not a file. Choose the export file itself.",
                    code="file_is_folder", params={"name": name})
            if size > max_bytes:
                raise DataError(limit_msg, code="file_too_large", params={"limit": _human_size(max_bytes)})
            data = path.read_bytes()
        except FileNotFoundError:
            raise DataError(f"Tierlens could not find the file “{_clip(str(source))}”.",
                code="file_not_found", params={"name": _clip(str(source))},
            ) from None
        except PermissionError:
            raise DataError(f"Tierlens is not allowed to read the file “{_clip(str(source))}”.",
                code="file_no_permission", params={"name": _clip(str(source))},
            ) from None
        except OSError as exc:
            raise DataError(f"Tierlens could not read the file “{_clip(str(source))}” ({exc.strerror}).",
                code="file_unreadable", params={"name": _clip(str(source))},
            ) from None
    elif hasattr(source, "getvalue") or hasattr(source, "read"):
        name = Path(str(getattr(source, "name", "") or "upload")).name or "upload"
        size = getattr(source, "size", None)
        if isinstance(size, int) and size > max_bytes:
            raise DataError(limit_msg, code="file_too_large", params={"limit": _human_size(max_bytes)})
        try:
            if hasattr(source, "getvalue"):
                data = source.getvalue()
            else:
                if hasattr(source, "seek"):
                    source.seek(0)
                data = source.read(max_bytes + 1)
        except OSError as exc:
            raise DataError(f"Tierlens could not read the uploaded file “{name}” ({exc}).",
                code="file_unreadable", params={"name": name},
            ) from None
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DataError(f"The uploaded file “{name}” did not return any bytes.",
                code="file_unreadable", params={"name": name})
        data = bytes(data)
    else:
        raise DataError(
            "Tierlens can read a file path, the bytes of a file or an uploaded file; "
            f"it was given a {type(source).__name__}."
        )
    if len(data) > max_bytes:
        raise DataError(limit_msg, code="file_too_large", params={"limit": _human_size(max_bytes)})
    return data, name


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _human_size(n: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= factor:
            return f"{n / factor:.3g} {unit}"
    return f"{n} bytes"


# ---------------------------------------------------------------------------------------------
# Format detection

_FOREIGN_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "PNG 图片"),
    (b"\xff\xd8\xff", "a JPEG image", "JPEG 图片"),
    (b"GIF87a", "a GIF image", "GIF 图片"),
    (b"GIF89a", "a GIF image", "GIF 图片"),
    (b"%PDF", "a PDF document", "PDF 文档"),
    (b"II*\x00", "a TIFF image", "TIFF 图片"),
    (b"MM\x00*", "a TIFF image", "TIFF 图片"),
    (b"\x1f\x8b", "a gzip-compressed file", "gzip 压缩文件"),
    (b"BZh", "a bzip2-compressed file", "bzip2 压缩文件"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "xz 压缩文件"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "7-Zip 压缩包"),
    (b"Rar!\x1a\x07", "a RAR archive", "RAR 压缩包"),
    (b"\x7fELF", "a program file", "程序文件"),
    (b"SQLite format 3\x00", "a SQLite database", "SQLite 数据库"),
    (b"ARROW1", "an Arrow file", "Arrow 文件"),
    (b"{\\rtf", "a Rich Text (RTF) document", "RTF 文档"),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_PARQUET = b"PAR1"
_HTML = re.compile(rb"^\s*(<!doctype\s+html|<html|<table)", re.IGNORECASE)

_CONVERT_HINT = "Export the data as CSV or Excel (.xlsx) and upload that file instead."


def sniff_format(data: bytes, name: str) -> str:
    """Return "xlsx", "xls", "parquet" or "text"; raise DataError for known non-table formats."""
    # isspace() stops at the first visible byte; strip() would copy the whole file.
    if not data or data.isspace():
        raise DataError(f"The file “{name}” is empty.", code="file_empty", params={"name": name})
    head = data[:64]
    found = next(((what, what_zh) for magic, what, what_zh in _FOREIGN_MAGIC if head.startswith(magic)), None)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        found = ("a WebP image", "WebP 图片")
    elif head[4:8] == b"ftyp":
        found = ("a photo or video file", "照片或视频文件")
    if found is not None:
        raise DataError(f"The file “{name}” is {found[0]}, not a table of transactions. {_CONVERT_HINT}",
            code="file_not_table", params={"name": name, "what_en": found[0], "what_zh": found[1]})
    if head.startswith(_ZIP):
        return _zip_kind(data, name)
    if head.startswith(_OLE2):
        return "xls"
    if head.startswith(_PARQUET):
        if len(data) < 12 or not data.endswith(_PARQUET):
            raise DataError(
                f"The file “{name}” starts like a Parquet file but is incomplete (it was probably "
                "cut off while copying or downloading). Export or download it again.",
                code="parquet_incomplete", params={"name": name},
            )
        return "parquet"
    if _HTML.match(head):
        raise DataError(
            f"The file “{name}” is a web page (HTML), even if its name says otherwise; some systems "
            f"save HTML under a spreadsheet name. Open it in Excel and save it as .xlsx or CSV.",
            code="file_is_html", params={"name": name},
        )
    return "text"


def _zip_kind(data: bytes, name: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        raise DataError(
            f"The file “{name}” looks like an Excel workbook or ZIP archive but is damaged or "
            "incomplete. Open it in Excel and save it again, or export it as CSV.",
            code="file_damaged", params={"name": name},
        ) from None
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if any(n.startswith("word/") for n in names):
        what, what_zh = "a Word document", "Word 文档"
    elif any(n.startswith("ppt/") for n in names):
        what, what_zh = "a PowerPoint presentation", "PowerPoint 演示文稿"
    elif "content.xml" in names:
        what, what_zh = "an OpenDocument file", "OpenDocument 文件"
    else:
        return "zip"
    raise DataError(f"The file “{name}” is {what}, not a table Tierlens can read. {_CONVERT_HINT}",
        code="file_not_table", params={"name": name, "what_en": what, "what_zh": what_zh})


def _guard(fn: Callable[[], _T], message: str, *, code: str = "", params: dict[str, Any] | None = None) -> _T:
    """Run a third-party reader; turn anything it raises into a DataError with ``message``.

    Readers written in Rust (Polars, calamine) raise their own exception types and, on some
    malformed inputs, a ``PanicException`` that derives from BaseException; a user file must
    never surface those, so they are caught here and only here.
    """
    try:
        return fn()
    except DataError:
        raise
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException:  # see docstring
        raise DataError(message, code=code, params=params) from None


# ---------------------------------------------------------------------------------------------
# Text: encoding, delimiter, header


_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (with BOM)",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "utf-32-le": "UTF-32",
    "utf-32-be": "UTF-32",
    "gbk": "GBK",
    "gb18030": "GB18030",
    "cp1252": "Windows-1252",
}


def _decodes(data: bytes | memoryview, encoding: str) -> bool:
    # Validate in chunks with an incremental decoder, so a large file is checked without
    # building one huge string just to throw it away.
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    view = memoryview(data)
    step = 8 * 1024 * 1024
    try:
        for start in range(0, len(view), step):
            decoder.decode(view[start : start + step])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def decode_text(data: bytes, name: str) -> tuple[bytes, str, tuple[Note, ...]]:
    """Return UTF-8 bytes without BOM, the encoding label, and notes.

    Decoding is strict: an encoding is used only if the whole file decodes without a single
    error, so Chinese text never turns into replacement characters. Order: BOM, UTF-8, GBK,
    GB18030, Windows-1252 (only if no control characters result). When both a Chinese and the
    Western encoding decode cleanly, charset-normalizer arbitrates on the first megabyte.
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            if enc == "utf-8-sig":
                body = data[len(bom) :]
                if not _decodes(body, "utf-8"):
                    raise DataError(_bad_encoding(name), code="bad_encoding", params={"name": name})
                return body, _ENCODING_LABELS[enc], ()
            try:
                text = data[len(bom) :].decode(enc)
            except UnicodeDecodeError:
                raise DataError(_bad_encoding(name), code="bad_encoding", params={"name": name}) from None
            return _reencode(text, name), _ENCODING_LABELS[enc], ()
    sample = data[:_SNIFF_BYTES]
    if b"\x00" in sample:
        enc16 = _utf16_without_bom(sample)
        if enc16 is None:
            raise DataError(
                f"The file “{name}” contains binary data, not text, so it is not a table Tierlens "
                f"can read. {_CONVERT_HINT}",
                code="file_binary", params={"name": name},
            )
        try:
            text = data.decode(enc16)
        except UnicodeDecodeError:
            raise DataError(_bad_encoding(name), code="bad_encoding", params={"name": name}) from None
        return _reencode(text, name), _ENCODING_LABELS[enc16], ()
    if _decodes(data, "utf-8"):
        _check_control(data[:_SNIFF_BYTES].decode("utf-8", errors="ignore"), name)
        return data, "UTF-8", ()
    chinese = next((enc for enc in ("gbk", "gb18030") if _decodes(data, enc)), None)
    western = "cp1252" if _decodes(data, "cp1252") else None
    if western is not None and _CONTROL.search(data[:_SNIFF_BYTES].decode("cp1252", errors="ignore")):
        western = None
    chosen = _arbitrate(sample, chinese) if chinese and western else chinese or western
    if chosen is None:
        raise DataError(_bad_encoding(name), code="bad_encoding", params={"name": name})
    text = data.decode(chosen)
    _check_control(text[:_SNIFF_BYTES], name)
    notes: tuple[Note, ...] = ()
    if chosen == "cp1252":
        notes = (("The file was read as Windows-1252 (Western European) text.", "文件按 Windows-1252（西欧）编码读取。"),)
    return _reencode(text, name), _ENCODING_LABELS[chosen], notes


def _arbitrate(sample: bytes, chinese: str) -> str:
    from charset_normalizer import from_bytes

    try:
        best = from_bytes(sample, cp_isolation=[chinese, "cp1252"]).best()
    except Exception:  # the detector is only advisory here
        return chinese
    if best is not None and best.encoding in {"cp1252", "windows_1252"}:
        return "cp1252"
    return chinese


def _utf16_without_bom(sample: bytes) -> str | None:
    sample = sample[: len(sample) - (len(sample) % 2)]
    if len(sample) < 4:
        return None
    even_zeros = sample[0::2].count(0) / (len(sample) / 2)
    odd_zeros = sample[1::2].count(0) / (len(sample) / 2)
    if odd_zeros > 0.3 and even_zeros < 0.05:
        return "utf-16-le"
    if even_zeros > 0.3 and odd_zeros < 0.05:
        return "utf-16-be"
    return None


def _bad_encoding(name: str) -> str:
    return (
        f"Tierlens could not read the text in “{name}”: it is not valid UTF-8, UTF-16, GBK or "
        "GB18030, or it is not a text file at all. Save it again as CSV UTF-8 (in Excel: "
        "File > Save As > CSV UTF-8) or as .xlsx."
    )


def _check_control(text: str, name: str) -> None:
    if not text:
        return
    hits = len(_CONTROL.findall(text))
    if hits > max(2, len(text) // 1000):
        raise DataError(
            f"The file “{name}” contains binary data, not readable text, so it is not a table "
            f"Tierlens can read. {_CONVERT_HINT}",
            code="file_binary", params={"name": name},
        )


def _reencode(text: str, name: str) -> bytes:
    _check_control(text[:_SNIFF_BYTES], name)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.encode("utf-8")


@dataclass(frozen=True)
class _Dialect:
    delimiter: str
    skip: int  # records before the header


def sniff_dialect(utf8: bytes, name: str) -> _Dialect:
    """Choose the delimiter and the header line from the first records of the file.

    The standard library's ``csv.Sniffer`` guesses from character frequencies and is easily
    fooled by decimal commas; here each candidate delimiter is scored by how consistently it
    splits the records into the same number (>= 2) of fields, which is what a table is.
    """
    sample_bytes = utf8[:_SNIFF_BYTES]
    truncated = len(utf8) > _SNIFF_BYTES
    if truncated and b"\n" not in sample_bytes:
        raise DataError(
            f"The first line of “{name}” is longer than {_human_size(_SNIFF_BYTES)}, so it is not a "
            "table header. Check that the file is a table with one transaction per line.",
            code="first_line_too_long", params={"name": name, "size": _human_size(_SNIFF_BYTES)},
        )
    sample = sample_bytes.decode("utf-8", errors="ignore")
    if truncated:
        sample = sample[: sample.rfind("\n") + 1]
    lines = sample.splitlines()
    if sum(1 for ln in lines if ln.strip()) < 2 and not truncated:
        if lines and any(d in lines[0] for d in _DELIMITERS):
            raise DataError(
                f"The file “{name}” has column headers but no rows of data. Export it again "
                "with the transactions included.",
                code="no_data_rows", params={"name": name},
            )
        raise DataError(
            f"The file “{name}” holds a single line of text, not a table of transactions.",
            code="single_line", params={"name": name},
        )
    best: tuple[tuple[float, int, int], _Dialect] | None = None
    widths_seen: list[int] = []
    for priority, delim in enumerate(reversed(_DELIMITERS)):
        records = _records(sample, delim)
        if not records:
            continue
        counts = [len(r) for r in records]
        width, _n = Counter(counts).most_common(1)[0]
        widths_seen.append(width)
        if width < 2:
            continue
        skip = _header_index(records, width)
        if skip is None:
            continue
        body = counts[skip:]
        consistency = sum(1 for c in body if c == width) / len(body)
        if consistency < 0.8:
            continue
        score = (round(consistency, 3), width, priority)
        if best is None or score > best[0]:
            best = (score, _Dialect(delim, skip))
    if best is None:
        aligned = _whitespace_dialect(lines)
        if aligned is not None:
            return aligned
        if widths_seen and max(widths_seen) < 2:
            raise DataError(
                f"Tierlens found only one column in “{name}”. A transaction file needs at least a "
                "customer, a date and an amount column, separated by commas, tabs or semicolons.",
                code="one_column", params={"name": name},
            )
        raise DataError(
            f"Tierlens could not find a table in “{name}”: its lines do not split into the same "
            "columns with commas, tabs, semicolons or pipes. Upload a CSV or Excel export with one "
            "transaction per row.",
            code="no_table_found", params={"name": name},
        )
    if best[0][1] > _MAX_COLUMNS:
        raise DataError(
            f"“{name}” has more than {_MAX_COLUMNS:,} columns; it does not look like a transaction table.",
            code="too_many_columns", params={"name": name, "limit": f"{_MAX_COLUMNS:,}"},
        )
    return best[1]


WHITESPACE = " "  # the delimiter recorded for whitespace-aligned text (runs of spaces or tabs)
_DATA_CELL = re.compile(r"^[-+]?[\d][\d.,:/\- ]*$")


def _whitespace_dialect(lines: list[str]) -> _Dialect | None:
    """Columns aligned with runs of spaces (CDNOW_master.txt: ``00001 19970101 1 11.77``).

    Only tried when no delimiter splits the lines. Prose also splits on spaces, so the lines must
    split into the same number of fields and most fields must be numbers or dates.
    """
    rows = [ln.split() for ln in lines if ln.strip()][:_SNIFF_RECORDS]
    if len(rows) < 2:
        return None
    width, n = Counter(len(r) for r in rows).most_common(1)[0]
    if width < 2 or n < 0.9 * len(rows):
        return None
    body = rows[1:] if not all(_DATA_CELL.match(c) for c in rows[0]) else rows
    cells = [c for r in body for c in r]
    if not cells or sum(1 for c in cells if _DATA_CELL.match(c)) < 0.5 * len(cells):
        return None
    return _Dialect(WHITESPACE, 0)


def looks_like_data(cells: list[str]) -> bool:
    """True when a would-be header row holds only numbers and dates: the file has no header."""
    filled = [c for c in cells if c]
    return len(filled) >= 2 and all(_DATA_CELL.match(c) for c in filled)


def _records(sample: str, delim: str) -> list[list[str]]:
    out: list[list[str]] = []
    try:
        for rec in csv.reader(io.StringIO(sample), delimiter=delim, quotechar='"'):
            if any(f.strip() for f in rec):
                out.append(rec)
            if len(out) >= _SNIFF_RECORDS:
                break
    except csv.Error:
        return []
    return out


def _header_index(records: list[list[str]], width: int) -> int | None:
    # A title block ("Sales report, 2024") may precede the header: skip records until one has
    # the table's width and is mostly filled in.
    for i, rec in enumerate(records[:_MAX_PREAMBLE]):
        filled = sum(1 for f in rec if f.strip())
        if len(rec) == width and filled >= 2 and filled * 2 >= width:
            return i
    return None


def _raw_line_index(utf8: bytes, skip_records: int) -> int:
    """Number of physical lines before the header (blank lines included)."""
    if skip_records == 0:
        # Leading blank lines are skipped by the reader too; count them for row numbers.
        head = utf8[:_SNIFF_BYTES].decode("utf-8", errors="ignore")
        n = 0
        for line in head.splitlines():
            if line.strip():
                break
            n += 1
        return n
    head = utf8[:_SNIFF_BYTES].decode("utf-8", errors="ignore")
    seen = 0
    for i, line in enumerate(head.splitlines()):
        if line.strip():
            if seen == skip_records:
                return i
            seen += 1
    return skip_records


def read_text_table(data: bytes | Path, name: str) -> tuple[pl.DataFrame, TableMeta]:
    if isinstance(data, Path):
        return _read_text_path(data, name)
    utf8, encoding, notes = decode_text(data, name)
    if b"\n" not in utf8[:_SNIFF_BYTES] and b"\r" in utf8:
        # Old Mac line endings: the CSV reader only splits on "\n".
        utf8 = utf8.replace(b"\r", b"\n")
    dialect = sniff_dialect(utf8, name)
    skip_lines = _raw_line_index(utf8, dialect.skip)
    if dialect.delimiter == WHITESPACE:
        frame = _read_aligned(utf8, name, skip_lines)
        notes = (*notes, (
            "The columns are aligned with spaces; they were split on runs of spaces.",
            "各列以空格对齐，已按连续空格拆分。",
        ))
    else:
        frame = _read_delimited(utf8, name, dialect, skip_lines)
    return _text_table(frame, name, encoding, notes, dialect, skip_lines, len(data))


def _text_table(
    frame: pl.DataFrame, name: str, encoding: str, notes: tuple[Note, ...], dialect: _Dialect, skip_lines: int, n_bytes: int
) -> tuple[pl.DataFrame, TableMeta]:
    frame, has_header = promote_header(frame)
    if not has_header:
        notes = (*notes, _HEADERLESS_NOTE)
    if skip_lines:
        notes = (*notes, (f"Skipped {skip_lines} line(s) above the column headers.", f"跳过了表头上方的 {skip_lines} 行。"))
    meta = TableMeta(
        source_name=name,
        file_format="csv",
        encoding=encoding,
        delimiter=dialect.delimiter,
        header_row=skip_lines + 1 if has_header else skip_lines,
        sheet=None,
        date1904=False,
        n_bytes=n_bytes,
        has_header=has_header,
        **_split(notes),
    )
    return frame, meta


def _read_text_path(path: Path, name: str) -> tuple[pl.DataFrame, TableMeta]:
    """A large UTF-8 text file (see :func:`direct_path`) read by Polars from the file itself.

    Polars checks every field as strict UTF-8, so a file that turns out to be GBK or
    Windows-1252 further in fails here and is read again on the general route, which decodes
    it whole; nothing is ever decoded lossily. Space-aligned files also take that route.
    """
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES + 1)
    bom = head.startswith(b"\xef\xbb\xbf")
    if bom:
        head = head[3:]
    _check_control(head[:_SNIFF_BYTES].decode("utf-8", errors="ignore"), name)
    dialect = sniff_dialect(head, name)
    if dialect.delimiter == WHITESPACE:
        return read_text_table(path.read_bytes(), name)
    skip_lines = _raw_line_index(head, dialect.skip)
    try:
        frame = _read_delimited(path, name, dialect, skip_lines)
    except DataError:  # invalid UTF-8, an unclosed quote: the general route says which
        return read_text_table(path.read_bytes(), name)
    return _text_table(frame, name, "UTF-8 (with BOM)" if bom else "UTF-8", (), dialect, skip_lines, path.stat().st_size)


_HEADERLESS_NOTE = (
    "The first line holds data, not column names, so the columns are numbered column_1, "
    "column_2, ...; choose them by position if the automatic choice is wrong.",
    "第一行是数据而不是列名，各列按顺序命名为 column_1、column_2……；如自动选择有误，请按位置指定。",
)


def _read_aligned(utf8: bytes, name: str, skip_lines: int) -> pl.DataFrame:
    lines = _guard(
        lambda: pl.read_csv(
            utf8, separator="\x1f", has_header=False, infer_schema=False, skip_lines=skip_lines,
            quote_char=None, truncate_ragged_lines=True, raise_if_empty=False,
        ),
        f"Tierlens could not read “{name}” as a table. Export it again as CSV or .xlsx.",
        code="text_unreadable", params={"name": name},
    )
    if lines.width == 0:
        return lines
    text = lines.to_series(0).str.strip_chars()
    parts = (
        pl.DataFrame({"line": text})
        .filter(pl.col("line").is_not_null() & (pl.col("line") != ""))
        .select(pl.col("line").str.replace_all(r"\s+", "\x1f").str.split("\x1f"))
    )
    width = int(parts.select(pl.col("line").list.len().mode().first()).item())
    return parts.select(
        pl.col("line").list.get(i, null_on_oob=True).alias(f"column_{i + 1}") for i in range(width)
    )


def _read_delimited(utf8: bytes | Path, name: str, dialect: _Dialect, skip_lines: int) -> pl.DataFrame:
    return _guard(
        lambda: pl.read_csv(
            utf8,
            separator=dialect.delimiter,
            has_header=False,
            infer_schema=False,
            skip_lines=skip_lines,
            truncate_ragged_lines=True,
            quote_char='"',
            raise_if_empty=False,
        ),
        f"Tierlens could not read “{name}” as a table; a line may have an unclosed quote (\"). "
        "Open the file in Excel and save it again as CSV or .xlsx.",
        code="unclosed_quote", params={"name": name},
    )


# ---------------------------------------------------------------------------------------------
# Excel and Parquet


_DATE1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904\s*=\s*[\"'](?:1|true)[\"']", re.IGNORECASE)


def _is_date1904(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            xml = zf.read("xl/workbook.xml")
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        return False
    return bool(_DATE1904.search(xml))


def read_excel_tables(data: bytes, name: str, kind: str) -> list[Table]:
    """Every sheet of a workbook that holds a table (a header row and data rows below it)."""
    import fastexcel

    what = "Excel workbook" if kind == "xlsx" else "old-style Excel (.xls) file"
    unreadable = (
        f"Tierlens could not open “{name}” as an {what}; it may be damaged or password-protected. "
        "Open it in Excel and save it again as .xlsx or CSV."
    )
    reader = _guard(lambda: fastexcel.read_excel(data), unreadable, code="excel_unreadable", params={"name": name})
    sheet_names = _guard(lambda: list(reader.sheet_names), unreadable, code="excel_unreadable", params={"name": name})
    date1904 = kind == "xlsx" and _is_date1904(data)
    tables: list[Table] = []
    for sheet in sheet_names:
        grid = _guard(
            lambda sheet=sheet: reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars(),
            unreadable,
            code="excel_unreadable", params={"name": name},
        )
        found = _grid_to_table(grid)
        if found is None:
            continue
        frame, header_idx, has_header = found
        notes: list[Note] = []
        if len(sheet_names) > 1:
            k, total = sheet_names.index(sheet) + 1, len(sheet_names)
            notes.append((f"Read the sheet “{sheet}” ({k} of {total}).", f"读取了工作表“{sheet}”（共 {total} 个，第 {k} 个）。"))
        if header_idx:
            notes.append((f"Skipped {header_idx} row(s) above the column headers.", f"跳过了表头上方的 {header_idx} 行。"))
        if not has_header:
            notes.append(_HEADERLESS_NOTE)
        meta = TableMeta(
            source_name=name,
            file_format=kind,
            encoding=None,
            delimiter=None,
            header_row=header_idx + 1 if has_header else header_idx,
            sheet=sheet,
            date1904=date1904,
            n_bytes=len(data),
            has_header=has_header,
            **_split(notes),
        )
        tables.append(Table(sheet, frame, meta))
    if not tables:
        raise DataError(
            f"Tierlens found no table in “{name}”: no sheet has a header row with at least two "
            "columns followed by data rows.",
            code="no_sheet_table", params={"name": name},
        )
    return tables


def _grid_to_table(grid: pl.DataFrame) -> tuple[pl.DataFrame, int, bool] | None:
    """Find the header row in a sheet grid; return (table, header index, has a header)."""
    if grid.width < 2 or grid.height == 0:
        return None
    head = grid.head(_MAX_PREAMBLE).rows()
    for i, row in enumerate(head):
        cells = [("" if v is None else str(v).strip()) for v in row]
        filled = sum(1 for c in cells if c)
        if filled >= 2 and filled * 2 >= _used_width(head):
            frame, has_header = promote_header(grid.slice(i))
            return frame, i, has_header
    return None


def _used_width(rows: list[tuple[Any, ...]]) -> int:
    used = 0
    for row in rows:
        for j, v in enumerate(row):
            if v is not None and str(v).strip():
                used = max(used, j + 1)
    return max(used, 2)


def direct_path(source: Any, max_bytes: int) -> Path | None:
    """``source`` as a path when the file can be read in place instead of copied into memory.

    That is a whole Parquet file, or a UTF-8 text file larger than the sniffing sample: reading
    those into memory first cost a copy of the file and time (10M rows: Parquet 0.56 s against
    0.35 s; CSV ~0.4 s and ~380 MB of peak memory). Text is only a candidate here;
    :func:`read_text_table` takes the general route after all if Polars' strict UTF-8 check
    fails further into the file. Anything else, or anything odd about the path, goes the
    general route with its messages.
    """
    if not isinstance(source, (str, os.PathLike)):
        return None
    path = Path(source)
    try:
        size = path.stat().st_size
        if not path.is_file() or not 12 <= size <= max_bytes:
            return None
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES + 1)
            fh.seek(-4, os.SEEK_END)
            tail = fh.read(4)
    except OSError:
        return None
    if head[:4] == tail == _PARQUET:
        return path
    if size <= _SNIFF_BYTES or b"\x00" in head or b"\n" not in head or head.startswith((*_ZIP, _OLE2, _PARQUET)):
        return None
    if any(head.startswith(bom) for bom, enc in _BOMS if enc != "utf-8-sig"):
        return None
    try:
        if sniff_format(head, path.name) != "text":
            return None
    except DataError:
        return None
    # The sample may end inside a character; only an error before the last 3 bytes counts.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        decoder.decode(head)
    except UnicodeDecodeError:
        return None
    return path


def read_parquet_table(data: bytes | Path, name: str) -> tuple[pl.DataFrame, TableMeta]:
    frame = _guard(
        lambda: pl.read_parquet(data if isinstance(data, Path) else io.BytesIO(data)),
        f"Tierlens could not read “{name}” as a Parquet file; it is damaged or incomplete. "
        "Export it again.",
        code="parquet_unreadable", params={"name": name},
    )
    notes: list[Note] = []
    casts: list[pl.Expr] = []
    for col, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            # Keep the wall-clock time the shop recorded; RFM works in whole days.
            casts.append(pl.col(col).dt.replace_time_zone(None))
        elif dtype in (pl.Date, pl.String) or isinstance(dtype, pl.Datetime) or dtype.is_numeric():
            # Typed columns stay typed: turning 10M dates and amounts into text only to parse
            # them back was most of the load time. The parsers take them as they are.
            casts.append(pl.col(col))
        elif dtype.is_nested() or dtype == pl.Binary or dtype == pl.Object:
            notes.append((
                f"The column “{col}” holds nested or binary values and was left out.",
                f"列“{col}”包含嵌套或二进制数据，已略过。",
            ))
        else:
            casts.append(pl.col(col).cast(pl.String))
    strings = _guard(
        lambda: frame.select(casts),
        f"Tierlens could not convert the columns of “{name}” to text. Export it again as CSV.",
        code="parquet_unreadable", params={"name": name},
    )
    meta = TableMeta(
        source_name=name,
        file_format="parquet",
        encoding=None,
        delimiter=None,
        header_row=1,
        sheet=None,
        date1904=False,
        n_bytes=data.stat().st_size if isinstance(data, Path) else len(data),
        **_split(notes),
    )
    return strings, meta


# ---------------------------------------------------------------------------------------------
# Shared clean-up


def dedupe_names(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for raw in names:
        base = raw or "column"
        name = base
        k = 2
        while name in seen:
            name = f"{base}_{k}"
            k += 1
        seen.add(name)
        out.append(name)
    return out


def promote_header(frame: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """Use the first row of a headerless frame as column names (exactly as written).

    Columns without a header get ``column_<n>``; those that are also empty (the trailing
    separators many exports write) are dropped. When the first row holds only numbers and
    dates it is data, not a header: every column is named ``column_<n>`` and the second value
    returned is False.
    """
    if frame.height == 0:
        return frame, True
    raw = ["" if v is None else str(v).replace("\ufeff", "").strip() for v in frame.row(0)]
    if looks_like_data(raw):
        # A headerless export (CDNOW_master.txt): the first line is a transaction, not names.
        frame.columns = [f"column_{i + 1}" for i in range(frame.width)]
        return frame, False
    body = frame.slice(1)
    body.columns = dedupe_names([n or f"column_{i + 1}" for i, n in enumerate(raw)])
    blank = [
        c
        for c, n in zip(body.columns, raw, strict=True)
        if not n and body[c].cast(pl.String).str.strip_chars().replace("", None).null_count() == body.height
    ]
    return body.drop(blank), True


def tidy_table(frame: pl.DataFrame, *, values: bool = True) -> pl.DataFrame:
    """Strip header names and (unless ``values`` is False) cell values; empty cells become null."""
    names = [c.replace("\ufeff", "").strip() or f"column_{i + 1}" for i, c in enumerate(frame.columns)]
    frame = frame.rename(dict(zip(frame.columns, dedupe_names(names), strict=True)))
    return tidy_values(frame) if values else frame


def text_columns(frame: pl.DataFrame, columns: Sequence[str] | None = None) -> list[str]:
    """The text (string, categorical, enum) columns among ``columns`` (default: all)."""
    wanted = frame.columns if columns is None else columns
    return [c for c in wanted if frame.schema[c] in (pl.String, pl.Categorical) or isinstance(frame.schema[c], pl.Enum)]


def tidy_values(
    frame: pl.DataFrame, columns: Sequence[str] | None = None, *, untidy: Mapping[str, bool] | None = None
) -> pl.DataFrame:
    """Strip the cell values of the text ``columns`` (default: all); empty cells become null.

    ``untidy`` says, per column, whether any value has spaces around it or is empty, when the
    caller knows (:func:`rare_matches` with :data:`UNTIDY`).
    """
    text = text_columns(frame, columns)
    if not text:
        return frame
    categorical = [c for c in text if frame.schema[c] != pl.String]
    # Rewriting a column costs far more than looking at it, and most columns of a machine-written
    # export have nothing to strip; only those that do are rewritten.
    if untidy is None:
        found = rare_matches(frame, {c: {"untidy": UNTIDY} for c in text if c not in categorical})
        untidy = {c: bool(n["untidy"]) for c, n in found.items()}
    redo = [c for c in text if c in categorical or untidy[c]]
    if not redo:
        return frame
    return frame.with_columns(pl.col(redo).cast(pl.String).str.strip_chars().replace("", None))


# Zip archives: refuse what would unpack to more than the size limit, or members compressed far
# beyond what any export reaches (text exports compress 5-20x; a zip bomb, 1000x and more).
ZIP_MAX_RATIO = 200
_ZIP_RATIO_FLOOR = 1024 * 1024  # small members may compress extremely well and are harmless
_TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet", ".dat")


def _zip_bomb(name: str, detail: str) -> DataError:
    return DataError(
        f"The ZIP archive “{name}” {detail}, far more than any export needs, so Tierlens did not "
        "unpack it (it may be a “zip bomb”). Unpack it on your computer and upload the table file "
        "itself, or ask for a smaller export.",
        code="zip_too_big", params={"name": name},
    )


def read_zip_tables(data: bytes, name: str, *, max_bytes: int, tidy: bool = True) -> list[Table]:
    """The tables inside a ZIP archive, each read like an uploaded file of its own.

    Folders, macOS resource forks and hidden files are skipped; members that are not tables
    are listed in a note. Archives inside the archive are not opened.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [
            i for i in zf.infolist()
            if not i.is_dir() and not i.filename.startswith("__MACOSX/")
            and not Path(i.filename).name.startswith(".")
        ]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        raise DataError(f"The ZIP archive “{name}” is damaged or incomplete. Download or create it again.",
            code="zip_damaged", params={"name": name},
        ) from None
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise _zip_bomb(name, f"would unpack to {_human_size(total)}, above the {_human_size(max_bytes)} limit")
    for info in infos:
        if info.file_size > _ZIP_RATIO_FLOOR and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise _zip_bomb(name, f"holds “{_clip(info.filename, 60)}”, compressed {ratio:,.0f} times")
    tables: list[Table] = []
    skipped: list[str] = []
    unpacked = 0
    for info in infos:
        try:
            with zf.open(info) as fh:
                # The sizes in the directory can lie; the limit is enforced on what is read.
                body = fh.read(max_bytes - unpacked + 1)
        except RuntimeError:
            raise DataError(
                f"The ZIP archive “{name}” is password-protected. Unpack it on your computer and "
                "upload the table file itself.",
                code="zip_password", params={"name": name},
            ) from None
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib_error):
            raise DataError(f"The ZIP archive “{name}” is damaged or incomplete. Download or create it again.",
                code="zip_damaged", params={"name": name},
            ) from None
        unpacked += len(body)
        if unpacked > max_bytes:
            raise _zip_bomb(name, f"unpacks to more than the {_human_size(max_bytes)} limit")
        member = info.filename
        try:
            if sniff_format(body, member) == "zip":
                skipped.append(member)
                continue
            found = read_tables(body, member, max_bytes=max_bytes, nested=False, tidy=tidy)
        except DataError:
            skipped.append(member)
            continue
        for t in found:
            label = member if len(found) == 1 and t.meta.sheet is None else f"{member} › {t.label}"
            note = (f"Read “{member}” from the ZIP archive “{name}”.", f"从 ZIP 压缩包“{name}”中读取了“{member}”。")
            meta = replace(
                t.meta, sheet=label, notes=(note[0], *t.meta.notes), notes_zh=(note[1], *t.meta.notes_zh)
            )
            tables.append(Table(label, t.frame, meta))
    if not tables:
        listed = ", ".join(f"“{_clip(i.filename, 60)}”" for i in infos[:10]) or "nothing"
        raise DataError(
            f"The ZIP archive “{name}” holds no table Tierlens can read (it contains {listed}). "
            f"Put the CSV or Excel export itself in the archive, or upload it directly.",
            code="zip_no_table", params={"name": name, "files": listed},
        )
    if skipped:
        en = "Not tables, left out: " + ", ".join(f"“{_clip(m, 60)}”" for m in skipped[:10]) + "."
        zh = "以下文件不是表格，已略过：" + "、".join(f"“{_clip(m, 60)}”" for m in skipped[:10]) + "。"
        first = tables[0]
        tables[0] = Table(first.label, first.frame, replace(first.meta, notes=(*first.meta.notes, en), notes_zh=(*first.meta.notes_zh, zh)))
    return tables


def read_tables(
    data: bytes | Path, name: str, *, max_bytes: int = DEFAULT_MAX_BYTES, nested: bool = True, tidy: bool = True
) -> list[Table]:
    """Every table in ``data``: one for text and Parquet, one per sheet, one per archive member.

    ``data`` is the file's bytes, or the path :func:`direct_path` found. Header names are
    always stripped; cell values too (empty cells become null) unless ``tidy`` is False, for
    a caller that tidies them itself (:func:`tidy_values`).
    """
    if isinstance(data, Path):
        with data.open("rb") as fh:
            kind = "parquet" if fh.read(4) == _PARQUET else "text"
    else:
        kind = sniff_format(data, name)
    if kind == "zip":
        if not nested:
            raise DataError(f"“{name}” is an archive inside an archive; unpack it first.",
                code="zip_nested", params={"name": name})
        return read_zip_tables(data, name, max_bytes=max_bytes, tidy=tidy)
    if kind in ("xlsx", "xls"):
        found = read_excel_tables(data, name, kind)
    else:
        frame, meta = _read_single(data, name, kind)
        found = [Table(name, frame, meta)]
    out = []
    for t in found:
        frame = tidy_table(t.frame, values=tidy)
        if frame.width == 0:
            raise DataError(f"The file “{name}” has no columns.", code="no_columns", params={"name": name})
        out.append(Table(t.label, frame, t.meta))
    return out


def _read_single(data: bytes | Path, name: str, kind: str) -> tuple[pl.DataFrame, TableMeta]:
    suffix = Path(name).suffix.lower()
    if kind == "parquet":
        return read_parquet_table(data, name)
    try:
        frame, meta = read_text_table(data, name)
    except DataError:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            raise DataError(
                f"The file “{name}” is named like an Excel workbook but is not one, and its "
                "content is not a readable table either. Open the original in Excel and save "
                "it as .xlsx, or export the data as CSV.",
                code="fake_excel", params={"name": name},
            ) from None
        if suffix == ".parquet":
            raise DataError(
                f"The file “{name}” is named like a Parquet file but is not one, and its "
                "content is not a readable table either. Export the data again.",
                code="fake_parquet", params={"name": name},
            ) from None
        raise
    if suffix in (".xlsx", ".xls", ".parquet"):
        note = f"The file is named {suffix} but contains text; it was read as delimited text."
        note_zh = f"文件扩展名为 {suffix}，但内容是文本，已按分隔符文本读取。"
        meta = replace(meta, notes=(*meta.notes, note), notes_zh=(*meta.notes_zh, note_zh))
    return frame, meta
