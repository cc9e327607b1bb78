"""Reading and writing at the process boundary: bounded input, and output failures as errors, not tracebacks.

Input is read in binary and never past `limit + 1` bytes, so `/dev/zero`, `/dev/urandom` or `yes |` end in a
size error at once instead of filling memory or hanging. Output failures (a reader that went away, a closed
descriptor, a full device) raise `OutputError`, which the command line maps to exit 1 with a one-line message.

Choices, each made so that no input can hang the process or leave it waiting for a person:

- stdin that is a terminal is refused with a hint; a document is never typed in by hand.
- Paths are opened non-blocking, so opening a named pipe (FIFO) with no writer returns at once instead of
  waiting for one. The pipe is then read normally: a writer that is already attached (`<(cat file)`, `cat >
  fifo &`) is read to its end; no writer at all reads as end-of-file and is reported as such.
- Character devices are allowed (`/dev/stdin`, `/dev/fd/N`); the bounded read makes the endless ones safe.
- A leading UTF-8 byte-order mark is accepted and removed, as RFC 8259 section 8.1 allows a parser to do.
- An empty document is an error here: nothing that KetaGuide reads can be empty.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import select
import stat
import sys
from collections.abc import Callable
from typing import IO, Any

from ketaguide.domain.errors import InputError, KetaGuideError

_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 16
_TERMINAL_HINT = "pipe a file or give a path"
# O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOCTTY: opening a terminal path must not make it
# our controlling terminal. getattr keeps the module importable where a flag does not exist (Windows).
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class OutputError(KetaGuideError):
    """Output could not be produced or written: closed stdout, broken pipe, full device, non-finite number."""


def read_document(source: str, limit: int, field: str) -> str:
    """Read a UTF-8 document of at most `limit` bytes from a path, or from standard input when `source` is "-".

    Raises InputError(field, problem) for every way the input can be unusable; never anything else.
    """
    if source == "-":
        label, data = "standard input", _read_stdin(limit, field)
    else:
        label, data = repr(source), _read_path(source, limit, field)
    if len(data) > limit:
        raise InputError(field, f"{label} is over {limit} bytes")
    return _decode(data, label, field)


def _read_stdin(limit: int, field: str) -> bytes:
    # sys.stdin, not fd 0: Python sets it to None when fd 0 was closed at start (`0<&-`), and by now fd 0 may
    # belong to an unrelated file; test runners also replace sys.stdin with an in-memory stream.
    stream = sys.stdin
    if stream is None:
        raise InputError(field, f"standard input is closed: {_TERMINAL_HINT}")
    try:
        if stream.isatty():
            raise InputError(field, f"standard input is a terminal: {_TERMINAL_HINT}")
        binary = _binary(stream, limit)
        return _read_bounded(lambda size: _read_waiting(binary, size), limit)
    except ValueError as exc:  # "I/O operation on closed file"
        raise InputError(field, f"standard input is closed: {_TERMINAL_HINT}") from exc
    except OSError as exc:
        raise InputError(field, f"cannot read standard input: {_os_problem(exc)}") from exc


def _binary(stream: IO[str], limit: int) -> IO[bytes]:
    """The bytes under a text stream; a text-only replacement (io.StringIO) is read up to the limit and encoded."""
    buffer: IO[bytes] | None = getattr(stream, "buffer", None)
    if buffer is not None:
        return buffer
    return io.BytesIO(stream.read(limit + 1).encode("utf-8", "surrogateescape"))


def _read_waiting(binary: IO[bytes], size: int) -> bytes:
    """One read from `binary`; if stdin was inherited non-blocking, wait for data instead of failing."""
    while True:
        chunk: bytes | None
        try:
            chunk = binary.read(size)
        except BlockingIOError:
            chunk = None
        if chunk is not None:
            return chunk
        select.select([binary], [], [])


def _read_path(path: str, limit: int, field: str) -> bytes:
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except ValueError as exc:  # a NUL byte in the path
        raise InputError(field, f"cannot open {path!r}: {exc}") from exc
    except OSError as exc:
        raise InputError(field, f"cannot open {path!r}: {_os_problem(exc)}") from exc
    try:
        kind = _refuse_unreadable_kind(fd, repr(path), field)
        os.set_blocking(fd, True)
        data = _read_bounded(lambda size: os.read(fd, size), limit)
    except OSError as exc:
        raise InputError(field, f"cannot read {path!r}: {_os_problem(exc)}") from exc
    finally:
        os.close(fd)
    if not data and stat.S_ISFIFO(kind):
        raise InputError(field, f"{path!r} is a named pipe with no writer")
    return data


def _refuse_unreadable_kind(fd: int, label: str, field: str) -> int:
    """Return the file's mode; refuse a directory, and a terminal, which would wait for someone to type."""
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        raise InputError(field, f"{label} is a directory")
    if os.isatty(fd):
        raise InputError(field, f"{label} is a terminal: {_TERMINAL_HINT}")
    return mode


def _read_bounded(read: Callable[[int], bytes], limit: int) -> bytes:
    """Read until end of input or `limit + 1` bytes, whichever comes first: one byte over is proof enough."""
    chunks: list[bytes] = []
    remaining = limit + 1
    while remaining > 0:
        chunk = read(min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _decode(data: bytes, label: str, field: str) -> str:
    skipped = len(_BOM) if data.startswith(_BOM) else 0
    if len(data) == skipped:
        raise InputError(field, f"{label} is empty")
    try:
        return data[skipped:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skipped + exc.start
        line = data.count(b"\n", 0, offset) + 1
        problem = f"{label} is not UTF-8 text: byte 0x{data[offset]:02x} at byte offset {offset} (line {line})"
        raise InputError(field, problem) from exc


def _os_problem(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def write_output(text: str, *, newline: bool = True) -> None:
    """Write `text` (and a newline) to standard output and flush it, or raise OutputError."""
    stream = sys.stdout
    if stream is None:  # started with stdout closed (`>&-`)
        raise OutputError("standard output is closed")
    try:
        _write_encodable(stream, text + "\n" if newline else text)
        stream.flush()
    except (OSError, ValueError) as exc:
        _discard_further_output(stream)
        raise OutputError(_output_problem(exc)) from None


def write_error(text: str) -> None:
    """Write one line to standard error; if that fails too there is nowhere left to report it, so stay silent."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        _write_encodable(stream, text + "\n")
        stream.flush()
    except (OSError, ValueError):
        _discard_further_output(stream)


def _write_encodable(stream: IO[str], text: str) -> None:
    """Write `text`; characters the stream cannot encode (PYTHONIOENCODING=ascii, lone surrogates) are escaped
    rather than crashing the command after the work is done."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))


def discard_standard_output() -> None:
    """After standard output failed outside `write_output` (help text written by the framework)."""
    if sys.stdout is not None:
        _discard_further_output(sys.stdout)


def _discard_further_output(stream: IO[str]) -> None:
    """Point the failed stream's descriptor at devnull so the flush at interpreter exit cannot fail again and
    print "Exception ignored ... BrokenPipeError" (Python docs, signal module, "Note on SIGPIPE")."""
    try:
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):  # an in-memory stream (test capture) has no descriptor to replace
        return
    os.dup2(devnull, fd)
    os.close(devnull)


def _output_problem(exc: BaseException) -> str:
    if isinstance(exc, BrokenPipeError):
        return "standard output was closed by its reader (broken pipe)"
    if isinstance(exc, ValueError) or (isinstance(exc, OSError) and exc.errno == errno.EBADF):
        return "standard output is closed"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "cannot write standard output: no space left on device"
    return f"cannot write standard output: {_os_problem(exc) if isinstance(exc, OSError) else exc}"


def dump_json(data: object) -> str:
    """Strict, readable JSON: two-space indent, Unicode kept, and no NaN or Infinity (they are not JSON).

    A non-finite number raises OutputError naming where it is; other failures (an object json cannot encode,
    a cycle) are programming errors and propagate unchanged.
    """
    try:
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        where = _non_finite_path(data, "$")
        if where is None:
            raise
        raise OutputError(f"cannot write JSON: the number at {where} is not finite (NaN or Infinity)") from exc


def _non_finite_path(value: Any, path: str, seen: set[int] | None = None) -> str | None:
    """Where the first NaN or Infinity is in `value`, as a JSONPath; None if there is none (or only a cycle)."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    seen = set() if seen is None else seen
    if not isinstance(value, dict | list | tuple) or id(value) in seen:
        return None
    seen.add(id(value))
    if isinstance(value, dict):
        children = [(key, f"{path} (a key)") for key in value] + [(v, f"{path}.{k}") for k, v in value.items()]
    else:
        children = [(item, f"{path}[{index}]") for index, item in enumerate(value)]
    for child, where in children:
        found = _non_finite_path(child, where, seen)
        if found:
            return found
    return None
