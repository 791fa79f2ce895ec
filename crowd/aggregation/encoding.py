"""String ids → integer codes, and a fast reader for `task,worker,label` CSV files (pure NumPy, no Django).

The aggregation cores take integer codes; this module makes them once, before the math.

`encode(values)` maps any sequence of hashable ids to codes in first-seen order (a dict pass, for the modest
lists a service holds). `read_csv_columns(path, names)` reads a whole CSV file of ids without a Python loop
over rows: the bytes go into one NumPy array, comma and newline positions are found with vectorized compares,
every line must have as many fields as the header, and each field becomes a (start, length) pair. Fields of at
most 8 bytes are packed into one uint64 (exact); longer ones are hashed from their 8-byte words, and every
field is then compared with its group's first member, so a hash collision can never merge two ids (on one,
the column falls back to an exact comparison). An argsort over the keys yields codes in first-seen order.
Files with a double quote anywhere go through the `csv` module instead (quoted fields are legal but rare).

Rules for both paths: UTF-8 (a leading BOM is ignored), LF or CRLF line ends, a header row naming the columns
(any order; extra columns are ignored), blank lines skipped, fields taken verbatim (no trimming), empty ids
refused. Problems raise `CsvFormatError` (a ValueError) whose message starts with the 1-based line number.

Shapes: `Encoding.codes` (n_rows,) intp in [0, len(values)); `Encoding.values` the distinct ids by code.
"""

import csv
import io
import os
import stat
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

COMMA, NEWLINE, CR, QUOTE = 44, 10, 13, 34
_LOW_BYTES = np.array([(1 << (8 * b)) - 1 for b in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


class CsvFormatError(ValueError):
    """A CSV file that cannot be read as the expected columns; `line` is the 1-based line number (0: whole file)."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True, eq=False)
class Encoding:
    codes: np.ndarray  # (n_rows,) intp: values[codes[i]] is row i's id
    values: list  # distinct ids, by code

    def __len__(self) -> int:
        return len(self.values)


def encode(values: Iterable[Hashable]) -> Encoding:
    """Codes in first-seen order for any iterable of hashable ids (strings, ints, tuples)."""
    values = values if isinstance(values, Sequence) else list(values)
    index: dict = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.intp, count=len(values))
    return Encoding(codes, list(index))


def natural_key(value: str):
    """Sort key: integers by value ("2" < "10") before any other string, which sort as text."""
    try:
        return (0, int(value), value)
    except ValueError:
        return (1, 0, value)


def sort_values(encoding: Encoding, key=natural_key) -> Encoding:
    """The same ids re-coded in sorted order (used for class labels, whose order decides ties)."""
    order = sorted(range(len(encoding.values)), key=lambda i: key(encoding.values[i]))
    recode = np.empty(len(order), dtype=np.intp)
    recode[order] = np.arange(len(order))
    return Encoding(recode[encoding.codes], [encoding.values[i] for i in order])


def drop_repeats(items: np.ndarray, workers: np.ndarray, n_workers: int) -> np.ndarray:
    """Row indices keeping only the last answer of every repeated (item, worker) pair, in row order."""
    key = np.asarray(items, dtype=np.int64) * max(n_workers, 1) + np.asarray(workers, dtype=np.int64)
    _, last_from_end = np.unique(key[::-1], return_index=True)
    return np.sort(key.size - 1 - last_from_end)


@dataclass(frozen=True, eq=False)
class Table:
    columns: dict  # name -> Encoding
    n_rows: int
    line: np.ndarray  # (n_rows,) 1-based line number of each row in the file


def read_csv_columns(source: str | os.PathLike | BinaryIO, names: Sequence[str]) -> Table:
    """Read the named columns of a CSV file (path or binary file object) of ids; raises CsvFormatError, OSError."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            data, read = _read_bytes(f)
    else:
        data, read = _read_bytes(source)
    body = data[:read]
    start = 3 if body[:3].tobytes() == b"\xef\xbb\xbf" else 0
    if (body == QUOTE).any():
        return _read_with_csv_module(body[start:].tobytes(), names)
    if (body == 0).any():
        raise CsvFormatError(_line_of(body, int(np.flatnonzero(body == 0)[0])), "NUL byte (is this a text file?)")
    index = np.int32 if read < 2**31 - 16 else np.int64  # byte offsets: half the memory for files under 2 GiB
    newlines = np.flatnonzero(body == NEWLINE).astype(index)
    line_end = np.append(newlines, index(read)) if (read and body[-1] != NEWLINE) else newlines
    del newlines
    if line_end.size == 0:
        raise CsvFormatError(1, f"empty file, expected a header row naming {','.join(names)}")
    line_start = np.empty_like(line_end)
    line_start[0] = start
    line_start[1:] = line_end[:-1] + 1
    content_end = line_end - ((body[np.maximum(line_end - 1, 0)] == CR) & (line_end > line_start))
    del line_end
    header = _decode(body[line_start[0] : content_end[0]], 1).split(",")
    positions = _column_positions(header, names)
    n_fields = len(header)
    rows = (np.flatnonzero(content_end[1:] > line_start[1:]) + 1).astype(index)  # non-blank lines after the header
    line_start, content_end = line_start[rows], content_end[rows]
    commas = np.flatnonzero(body == COMMA).astype(index)
    first_comma = np.searchsorted(commas, line_start).astype(index)
    per_line = np.searchsorted(commas, content_end) - first_comma
    bad = np.flatnonzero(per_line != n_fields - 1)
    if bad.size:
        found = int(per_line[bad[0]]) + 1
        raise CsvFormatError(int(rows[bad[0]]) + 1, f"expected {n_fields} fields ({','.join(header)}), found {found}")
    del per_line
    columns = {}
    for name, j in zip(names, positions, strict=True):
        field_start = line_start if j == 0 else commas[first_comma + (j - 1)] + 1
        field_end = content_end if j == n_fields - 1 else commas[first_comma + j]
        columns[name] = _encode_fields(data, field_start, field_end - field_start, rows, name)
        del field_start, field_end
    return Table(columns, int(rows.size), rows + 1)


@dataclass(frozen=True, eq=False)
class Answers:
    """A `task,worker,label` file, integer-coded for the aggregation cores."""

    items: np.ndarray  # (n,) intp task code of each answer
    workers: np.ndarray  # (n,) intp worker code
    labels: np.ndarray  # (n,) intp class code
    tasks: list  # task ids by code, in order of first appearance
    worker_ids: list  # worker ids by code, in order of first appearance
    classes: list  # class labels by code, in natural order (integers by value, then text): ties go to the first
    line: np.ndarray  # (n,) 1-based line of each answer in the file


def read_answers(source: str | os.PathLike | BinaryIO) -> Answers:
    """Read and code a `task,worker,label` CSV file; raises CsvFormatError (naming the line) or OSError."""
    table = read_csv_columns(source, ("task", "worker", "label"))
    tasks, workers = table.columns["task"], table.columns["worker"]
    labels = sort_values(table.columns["label"])
    return Answers(tasks.codes, workers.codes, labels.codes, tasks.values, workers.values, labels.values, table.line)


@dataclass(frozen=True, eq=False)
class Gold:
    labels: np.ndarray  # (n_tasks,) int64 gold class code per task; -1 unknown; -2 a class no answer uses
    classes: list  # the answers' classes, plus gold-only classes appended when add_classes=True
    unmatched: int  # gold rows naming a task that has no answers (ignored)


def read_gold(source: str | os.PathLike | BinaryIO, tasks: list, classes: list, *, add_classes: bool = False) -> Gold:
    """Code a `task,label` gold file against the answers' tasks and classes (a task listed twice: last row wins).

    A gold class that no answer uses is coded -2 (it can only be scored wrong), unless add_classes=True appends
    it to the classes (needed to clamp it). Raises CsvFormatError or OSError.
    """
    table = read_csv_columns(source, ("task", "label"))
    gold_tasks, gold_labels = table.columns["task"], table.columns["label"]
    task_of = {task: code for code, task in enumerate(tasks)}
    class_of = {label: code for code, label in enumerate(classes)}
    classes = list(classes)
    label_code = np.empty(len(gold_labels.values), dtype=np.int64)
    for code, value in enumerate(gold_labels.values):
        if value not in class_of and add_classes:
            class_of[value] = len(classes)
            classes.append(value)
        label_code[code] = class_of.get(value, -2)
    row_task = np.array([task_of.get(task, -1) for task in gold_tasks.values], dtype=np.int64)[gold_tasks.codes]
    row_label = label_code[gold_labels.codes]
    known = row_task >= 0
    labels = np.full(len(tasks), -1, dtype=np.int64)
    labels[row_task[known]] = row_label[known]
    return Gold(labels, classes, int((~known).sum()))


def _read_bytes(f: BinaryIO) -> tuple[np.ndarray, int]:
    """The whole file in a uint8 array with 8 spare zero bytes (8-byte loads may run past the last field)."""
    try:
        info = os.fstat(f.fileno())
    except (AttributeError, OSError, io.UnsupportedOperation):
        info = None
    if info is not None and stat.S_ISREG(info.st_mode):
        data = np.zeros(info.st_size + 8, dtype=np.uint8)  # straight into the array: no second copy
        read = f.readinto(memoryview(data)[: info.st_size]) or 0
        return data[: read + 8], read
    raw = f.read()  # a pipe or stream
    data = np.zeros(len(raw) + 8, dtype=np.uint8)
    data[: len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    return data, len(raw)


def _line_of(body: np.ndarray, offset: int) -> int:
    return int(np.count_nonzero(body[:offset] == NEWLINE)) + 1


def _decode(raw: np.ndarray, line: int) -> str:
    try:
        return raw.tobytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise CsvFormatError(line, f"not valid UTF-8 ({error.reason})") from None


def _column_positions(header: list[str], names: Sequence[str]) -> list[int]:
    header = [h.strip() for h in header]
    duplicated = sorted({h for h in header if header.count(h) > 1 and h in names})
    if duplicated:
        raise CsvFormatError(1, f"column {duplicated[0]!r} appears twice in the header")
    missing = [name for name in names if name not in header]
    if missing:
        raise CsvFormatError(1, f"header {','.join(header)!r} lacks column(s) {','.join(missing)}")
    return [header.index(name) for name in names]


def _encode_fields(data: np.ndarray, start: np.ndarray, length: np.ndarray, rows: np.ndarray, name: str) -> Encoding:
    if length.size == 0:
        return Encoding(np.zeros(0, dtype=np.intp), [])
    empty = np.flatnonzero(length == 0)
    if empty.size:
        raise CsvFormatError(int(rows[empty[0]]) + 1, f"empty {name}")
    # Unaligned little-endian 8-byte loads at any offset: a strided view, no copy.
    words8 = np.ndarray(shape=(data.size - 7,), dtype="<u8", buffer=data, strides=(1,))
    n_words = (int(length.max()) + 7) // 8
    last = words8.size - 1  # a word wholly past a short field is masked to 0 anyway; keep its load in bounds
    words = [
        words8[np.minimum(start + 8 * w, last)] & _LOW_BYTES[np.clip(length - 8 * w, 0, 8)] for w in range(n_words)
    ]
    # One word is exact: ids hold no NUL bytes, so distinct ids give distinct packed words.
    key = words[0] if n_words == 1 else _hash_words(words, length)
    order = np.argsort(key)
    sorted_key = key[order]
    new_group = np.empty(key.size, dtype=bool)
    new_group[0] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=new_group[1:])
    group_of_sorted = np.cumsum(new_group) - 1
    group = np.empty(key.size, dtype=np.intp)
    group[order] = group_of_sorted
    first = np.minimum.reduceat(order, np.flatnonzero(new_group))  # first row of every group
    if n_words > 1:
        representative = first[group]
        same = (length == length[representative]) & np.logical_and.reduce([w == w[representative] for w in words])
        if not same.all():  # a 64-bit hash collision: astronomically rare, but never merge two ids
            return _encode_exactly(data, start, length, rows)
    by_first_seen = np.argsort(first)
    recode = np.empty(first.size, dtype=np.intp)
    recode[by_first_seen] = np.arange(first.size)
    first = first[by_first_seen]
    return Encoding(recode[group], _decode_many(data, start[first], length[first], rows[first]))


def _hash_words(words: list[np.ndarray], length: np.ndarray) -> np.ndarray:
    """64-bit multiply-xorshift mix of an id's 8-byte words and length (collisions are checked by the caller)."""
    key = length.astype(np.uint64)
    for word in words:
        key = (key ^ word) * np.uint64(0x9E3779B97F4A7C15)
        key ^= key >> np.uint64(29)
    return key


def _decode_many(data: np.ndarray, start: np.ndarray, length: np.ndarray, rows: np.ndarray) -> list[str]:
    """Decode many fields with one bytes → str call: gather them newline-separated (ids never hold newlines)."""
    span = length + 1
    offset = np.cumsum(span) - span
    source = np.repeat(start - offset, span)
    source += np.arange(source.size, dtype=source.dtype)
    joined = data[source]
    del source
    joined[offset + length] = NEWLINE
    try:
        text = joined.tobytes().decode("utf-8")
    except UnicodeDecodeError as error:
        field = int(np.searchsorted(offset, error.start, side="right")) - 1
        raise CsvFormatError(int(rows[field]) + 1, f"not valid UTF-8 ({error.reason})") from None
    return text.split("\n")[:-1]


def _encode_exactly(data: np.ndarray, start: np.ndarray, length: np.ndarray, rows: np.ndarray) -> Encoding:
    raw = data.tobytes()
    encoded = encode([raw[s : s + n] for s, n in zip(start.tolist(), length.tolist(), strict=True)])
    values = []
    for code, value in enumerate(encoded.values):
        try:
            values.append(value.decode("utf-8"))
        except UnicodeDecodeError as error:
            line = int(rows[np.argmax(encoded.codes == code)]) + 1
            raise CsvFormatError(line, f"not valid UTF-8 ({error.reason})") from None
    return Encoding(encoded.codes, values)


def _read_with_csv_module(raw: bytes, names: Sequence[str]) -> Table:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CsvFormatError(raw[: error.start].count(b"\n") + 1, f"not valid UTF-8 ({error.reason})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise CsvFormatError(1, f"empty file, expected a header row naming {','.join(names)}")
    positions = _column_positions(header, names)
    values: list[list[str]] = [[] for _ in names]
    lines: list[int] = []
    try:
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise CsvFormatError(
                    reader.line_num, f"expected {len(header)} fields ({','.join(header)}), found {len(row)}"
                )
            for column, j in zip(values, positions, strict=True):
                if not row[j]:
                    raise CsvFormatError(reader.line_num, f"empty {names[positions.index(j)]}")
                column.append(row[j])
            lines.append(reader.line_num)
    except csv.Error as error:
        raise CsvFormatError(reader.line_num, str(error)) from None
    columns = {name: encode(column) for name, column in zip(names, values, strict=True)}
    return Table(columns, len(lines), np.array(lines, dtype=np.int64))
