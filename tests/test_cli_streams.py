"""The process boundary: bounded reads that cannot hang or exhaust memory, and output failures as one-line errors.

Anything that could hang or grow without bound runs in a real subprocess with a timeout, so a regression fails
the test instead of stalling the suite.
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaguide.cli.streams import OutputError, dump_json, read_document, write_error, write_output
from ketaguide.domain.errors import InputError

TIMEOUT = 20  # seconds; each run below takes well under one, most of it importing Python
BOM = b"\xef\xbb\xbf"

# What the command line does with these functions, in miniature: the real mapping lives in ketaguide.cli.errors.
READ = """
import sys
from ketaguide.cli.streams import read_document
from ketaguide.domain.errors import InputError
try:
    text = read_document(sys.argv[1], int(sys.argv[2]), "FILE")
except InputError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
print(len(text))
"""
WRITE = """
import sys
from ketaguide.cli.streams import OutputError, write_error, write_output
try:
    write_output(sys.argv[1] * int(sys.argv[2]))
except OutputError as exc:
    write_error(f"error: {exc}")
    sys.exit(1)
"""


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE} | kwargs
    return subprocess.run(args, text=True, timeout=TIMEOUT, check=False, **pipes)  # type: ignore[call-overload, no-any-return]


def run_read(source: str, limit: int, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-c", READ, source, str(limit)], **kwargs)


def in_shell(script: str, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `script` in sh, where "$PY" "$CODE" are the interpreter and the snippet; for fd-level redirections."""
    env = {**os.environ, "PY": sys.executable, "CODE": code}
    return run(["sh", "-c", script, "sh", *args], env=env)


def assert_one_error_line(result: subprocess.CompletedProcess[str], code: int, expected: str) -> None:
    assert result.returncode == code, result
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr


# --- read_document from a path ----------------------------------------------------------------------------


def write_file(tmp_path: Path, data: bytes, name: str = "doc.json") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_reads_a_utf8_file(tmp_path: Path) -> None:
    assert read_document(write_file(tmp_path, '{"a": "é"}'.encode()), 100, "FILE") == '{"a": "é"}'


def test_exactly_the_limit_is_accepted_and_one_byte_more_is_not(tmp_path: Path) -> None:
    assert read_document(write_file(tmp_path, b"x" * 10), 10, "FILE") == "x" * 10
    with pytest.raises(InputError, match=r"is over 10 bytes") as caught:
        read_document(write_file(tmp_path, b"x" * 11), 10, "FILE")
    assert caught.value.field == "FILE"


def test_a_leading_byte_order_mark_is_removed(tmp_path: Path) -> None:
    assert read_document(write_file(tmp_path, BOM + b"{}"), 100, "FILE") == "{}"


def test_only_the_first_byte_order_mark_is_removed(tmp_path: Path) -> None:
    assert read_document(write_file(tmp_path, BOM + BOM + b"{}"), 100, "FILE") == "\ufeff{}"


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b'{"a": "\xff"}', 7),
        (BOM + b'{"a": "\xff"}', 10),
        (b"ok\n\xc3\x28", 3),  # an invalid continuation byte
        (b"ends mid-character \xe2\x82", 19),
        (b"\xed\xa0\x80", 0),  # an encoded surrogate is not UTF-8
        (b"\xc0\xaf", 0),  # an overlong encoding
    ],
)
def test_non_utf8_names_the_byte_offset(tmp_path: Path, data: bytes, offset: int) -> None:
    with pytest.raises(InputError, match=f"is not UTF-8 text: byte 0x[0-9a-f]{{2}} at byte offset {offset} "):
        read_document(write_file(tmp_path, data), 100, "FILE")


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\(line 3\)"):
        read_document(write_file(tmp_path, b"{\n\n\xff}"), 100, "FILE")


@pytest.mark.parametrize("data", [b"", BOM])
def test_an_empty_file_is_an_error(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError, match=r"is empty"):
        read_document(write_file(tmp_path, data), 100, "FILE")


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot open '.*missing.json': no such file or directory"):
        read_document(str(tmp_path / "missing.json"), 100, "FILE")


def test_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"is a directory"):
        read_document(str(tmp_path), 100, "FILE")


def test_a_path_with_a_nul_byte(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot open"):
        read_document(str(tmp_path) + "/a\0b", 100, "FILE")


def test_a_path_that_is_too_long() -> None:
    with pytest.raises(InputError, match=r"cannot open"):
        read_document("x" * 5000, 100, "FILE")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied(tmp_path: Path) -> None:
    path = write_file(tmp_path, b"{}")
    os.chmod(path, 0)
    with pytest.raises(InputError, match=r"permission denied"):
        read_document(path, 100, "FILE")


def test_permission_denied_is_reported_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real check above cannot run as root; this one pins the message whoever runs the tests.
    def denied(*_args: object) -> int:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(InputError, match=r"cannot open 'secret.json': permission denied"):
        read_document("secret.json", 100, "FILE")


def test_the_path_is_quoted_so_it_cannot_carry_escape_sequences(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_document(str(tmp_path / "\x1b[31mred"), 100, "FILE")
    assert "\x1b" not in str(caught.value)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_stops_at_the_limit(device: str) -> None:
    assert_one_error_line(run_read(device, 1000), 2, f"'{device}' is over 1000 bytes")


def test_dev_null_is_empty() -> None:
    assert_one_error_line(run_read("/dev/null", 1000), 2, "'/dev/null' is empty")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_with_no_writer_fails_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert_one_error_line(run_read(str(fifo), 1000), 2, "is a named pipe with no writer")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_whose_writer_has_written_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # Hold a reader open so the writer can open without blocking and its bytes stay in the pipe after it closes.
    holder = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    writer = os.open(fifo, os.O_WRONLY)
    os.write(writer, b'{"a": 1}')
    os.close(writer)
    try:
        assert read_document(str(fifo), 100, "FILE") == '{"a": 1}'
    finally:
        os.close(holder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_with_a_live_writer_is_read_to_its_end(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    holder = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    writer = os.open(fifo, os.O_WRONLY)
    os.write(writer, b"[1,")

    def finish() -> None:
        os.write(writer, b" 2]")
        os.close(writer)

    threading.Timer(0.2, finish).start()
    try:
        assert read_document(str(fifo), 100, "FILE") == "[1, 2]"
    finally:
        os.close(holder)


@pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="needs /dev/fd")
def test_a_process_substitution_path_is_read() -> None:
    # `ketaguide assess <(cat intake.json)` passes /dev/fd/N, a pipe.
    read_end, write_end = os.pipe()
    os.write(write_end, b'{"ok": true}')
    os.close(write_end)
    try:
        result = run_read(f"/dev/fd/{read_end}", 100, pass_fds=(read_end,))
    finally:
        os.close(read_end)
    assert (result.returncode, result.stdout) == (0, "12\n"), result.stderr


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_path_is_refused_with_a_hint() -> None:
    controller, terminal = os.openpty()
    try:
        result = run_read(os.ttyname(terminal), 100)
    finally:
        os.close(controller)
        os.close(terminal)
    assert_one_error_line(result, 2, "is a terminal: pipe a file or give a path")


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_bytes_read_back_as_text_or_an_input_error(data: bytes) -> None:
    with tempfile.NamedTemporaryFile(delete=False) as file:
        file.write(data)
    try:
        text = read_document(file.name, 200, "FILE")
    except InputError:
        return
    finally:
        os.unlink(file.name)
    assert text == data.decode("utf-8").removeprefix("\ufeff")
    assert 0 < len(data) <= 200


# --- read_document from standard input: in process, as a test runner's captured stdin ----------------------


def fake_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_stdin_is_read_in_binary_and_decoded_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, BOM + '{"a": "é"}'.encode())
    assert read_document("-", 100, "FILE") == '{"a": "é"}'


def test_non_utf8_stdin_is_an_error_like_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, b'{"a": "\xe9"}')
    with pytest.raises(InputError, match=r"standard input is not UTF-8 text: byte 0xe9 at byte offset 7"):
        read_document("-", 100, "FILE")


def test_stdin_over_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, b"x" * 101)
    with pytest.raises(InputError, match=r"standard input is over 100 bytes"):
        read_document("-", 100, "FILE")


def test_a_text_only_stdin_replacement_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"a": "é"}'))
    assert read_document("-", 100, "FILE") == '{"a": "é"}'
    monkeypatch.setattr(sys, "stdin", io.StringIO("é" * 60))
    with pytest.raises(InputError, match=r"standard input is over 100 bytes"):
        read_document("-", 100, "FILE")


def test_stdin_set_to_none_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(InputError, match=r"standard input is closed"):
        read_document("-", 100, "FILE")


def test_a_closed_stdin_stream_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.TextIOWrapper(io.BytesIO(b"{}"))
    stream.close()
    monkeypatch.setattr(sys, "stdin", stream)
    with pytest.raises(InputError, match=r"standard input is closed"):
        read_document("-", 100, "FILE")


class _TerminalStdin(io.TextIOWrapper):
    def isatty(self) -> bool:
        return True


def test_a_terminal_stdin_is_refused_without_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _TerminalStdin(io.BytesIO(b"never read")))
    with pytest.raises(InputError, match=r"standard input is a terminal: pipe a file or give a path"):
        read_document("-", 100, "FILE")


# --- read_document from standard input: real processes --------------------------------------------------


def test_stdin_from_dev_zero_stops_at_the_limit() -> None:
    with open("/dev/zero", "rb") as zero:
        assert_one_error_line(run_read("-", 1000, stdin=zero), 2, "standard input is over 1000 bytes")


def test_stdin_from_yes_stops_at_the_limit() -> None:
    result = in_shell('yes | "$PY" -c "$CODE" - 100000', READ)
    assert_one_error_line(result, 2, "standard input is over 100000 bytes")


def test_stdin_from_urandom_stops_at_the_limit() -> None:
    result = in_shell('"$PY" -c "$CODE" - 1000 < /dev/urandom', READ)
    assert_one_error_line(result, 2, "standard input is over 1000 bytes")


def test_stdin_from_a_pipe() -> None:
    result = run_read("-", 100, input='\ufeff{"a": "é"}')
    assert (result.returncode, result.stdout) == (0, "10\n"), result.stderr


def test_non_utf8_stdin_from_a_pipe_names_the_offset() -> None:
    result = subprocess.run(
        [sys.executable, "-c", READ, "-", "100"], input=b"{}\xff", capture_output=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 2
    assert b"standard input is not UTF-8 text: byte 0xff at byte offset 2" in result.stderr


def test_stdin_from_dev_null_is_empty() -> None:
    assert_one_error_line(run_read("-", 100, stdin=subprocess.DEVNULL), 2, "standard input is empty")


def test_stdin_from_a_pipe_closed_without_writing_is_empty() -> None:
    assert_one_error_line(run_read("-", 100, input=""), 2, "standard input is empty")


def test_stdin_closed_at_the_descriptor_is_reported() -> None:
    result = in_shell('exec "$PY" -c "$CODE" - 100 0<&-', READ)
    assert_one_error_line(result, 2, "standard input is closed: pipe a file or give a path")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_stdin_that_is_a_terminal_is_refused_instead_of_waiting() -> None:
    controller, terminal = os.openpty()
    try:
        result = run_read("-", 100, stdin=terminal)
    finally:
        os.close(controller)
        os.close(terminal)
    assert_one_error_line(result, 2, "standard input is a terminal: pipe a file or give a path")


def test_a_non_blocking_stdin_waits_for_data() -> None:
    code = "import os; os.set_blocking(0, False)\n" + READ
    result = in_shell('(sleep 0.3; printf "[1, 2]") | "$PY" -c "$CODE" - 100', code)
    assert (result.returncode, result.stdout) == (0, "6\n"), result.stderr


# --- write_output and write_error -------------------------------------------------------------------------


def test_write_output_writes_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    write_output("hello")
    write_output("no newline", newline=False)
    assert capsys.readouterr().out == "hello\nno newline"


class _FailingStream(io.StringIO):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def flush(self) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (BrokenPipeError(errno.EPIPE, "Broken pipe"), "standard output was closed by its reader (broken pipe)"),
        (OSError(errno.ENOSPC, "No space left on device"), "cannot write standard output: no space left on device"),
        (OSError(errno.EBADF, "Bad file descriptor"), "standard output is closed"),
        (ValueError("I/O operation on closed file."), "standard output is closed"),
        (OSError(errno.EIO, "Input/output error"), "cannot write standard output: input/output error"),
    ],
)
def test_each_write_failure_is_an_output_error(
    monkeypatch: pytest.MonkeyPatch, error: BaseException, message: str
) -> None:
    monkeypatch.setattr(sys, "stdout", _FailingStream(error))
    with pytest.raises(OutputError) as caught:
        write_output("x")
    assert str(caught.value) == message
    assert caught.value.__cause__ is None  # the CLI prints one line; the OS error is in the message


def test_stdout_set_to_none_is_an_output_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    with pytest.raises(OutputError, match="standard output is closed"):
        write_output("x")


def test_characters_the_terminal_cannot_encode_are_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer, encoding="ascii"))
    write_output("café \ud800")
    assert buffer.getvalue() == b"caf\\xe9 \\ud800\n"


def test_write_error_writes_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    write_error("error: x")
    assert capsys.readouterr().err == "error: x\n"


def test_write_error_is_silent_when_stderr_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", _FailingStream(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    write_error("nowhere to go")
    monkeypatch.setattr(sys, "stderr", None)
    write_error("nowhere to go")


def test_output_to_a_full_device_exits_1_with_one_line() -> None:
    with open("/dev/full", "w") as full:
        result = run([sys.executable, "-c", WRITE, "x", "1"], stdout=full, stderr=subprocess.PIPE)
    assert_one_error_line(result, 1, "no space left on device")


@pytest.mark.parametrize("repeat", [1, 1_000_000])
def test_output_to_a_pipe_with_no_reader_exits_1_with_one_line(repeat: int) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # before the child starts, so its very first write meets a broken pipe
    try:
        result = run([sys.executable, "-c", WRITE, "x", str(repeat)], stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert_one_error_line(result, 1, "standard output was closed by its reader (broken pipe)")


@pytest.mark.parametrize("device", ["/dev/full", "broken pipe"])
def test_stray_output_after_a_failure_is_discarded_at_exit(device: str) -> None:
    # Without the devnull redirection, Python's flush of stdout at exit fails again and prints "Exception
    # ignored ... BrokenPipeError" (Python docs, signal module, "Note on SIGPIPE").
    code = WRITE.replace("sys.exit(1)", "print('stray output from some other writer'); sys.exit(1)")
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open("/dev/full", "w") as full:
        stdout = full.fileno() if device == "/dev/full" else write_end
        result = run([sys.executable, "-c", code, "x", "1"], stdout=stdout)
    os.close(write_end)
    assert_one_error_line(result, 1, "error: ")


def test_output_when_the_reader_leaves_early_exits_1_with_one_line() -> None:
    result = in_shell('"$PY" -c "$CODE" x 1000000 | head -c 10 > /dev/null; exit 0', WRITE)
    # The shell swallows the writer's status in a pipeline; what must hold is a clean stderr.
    assert "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr


def test_output_with_stdout_closed_exits_1_with_one_line() -> None:
    result = in_shell('exec "$PY" -c "$CODE" x 1 >&-', WRITE)
    assert_one_error_line(result, 1, "standard output is closed")


def test_stdout_closed_after_start_exits_1_with_one_line() -> None:
    code = "import os, sys; sys.stdout.flush(); os.close(1)\n" + WRITE
    assert_one_error_line(run([sys.executable, "-c", code, "x", "1"]), 1, "standard output is closed")


def test_unencodable_output_does_not_crash_the_process() -> None:
    code = "from ketaguide.cli.streams import write_output; write_output('caf\\xe9 \\ud800')"
    result = run([sys.executable, "-c", code], env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert (result.returncode, result.stdout, result.stderr) == (0, "caf\\xe9 \\ud800\n", "")


def test_stderr_closed_or_full_does_not_crash_the_process() -> None:
    code = "from ketaguide.cli.streams import write_error; write_error('lost'); print('done')"
    closed = in_shell('exec "$PY" -c "$CODE" 2>&-', code)
    full = in_shell('exec "$PY" -c "$CODE" 2>/dev/full', code)
    assert (closed.returncode, closed.stdout) == (0, "done\n")
    assert (full.returncode, full.stdout) == (0, "done\n")


# --- dump_json --------------------------------------------------------------------------------------------


def test_dump_json_is_indented_and_keeps_unicode() -> None:
    assert dump_json({"drug": "kétamine", "doses": [1, 2.5]}) == (
        '{\n  "drug": "kétamine",\n  "doses": [\n    1,\n    2.5\n  ]\n}'
    )


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (float("nan"), "$"),
        ({"dose": {"mg": [1.0, float("inf")]}}, "$.dose.mg[1]"),
        ([{"a": 1}, (0, -float("inf"))], "$[1][1]"),
        ({float("nan"): 1}, "$ (a key)"),
    ],
)
def test_dump_json_refuses_non_finite_numbers_naming_where(data: object, where: str) -> None:
    with pytest.raises(OutputError) as caught:
        dump_json(data)
    assert str(caught.value) == f"cannot write JSON: the number at {where} is not finite (NaN or Infinity)"


def test_dump_json_lets_programming_errors_through() -> None:
    with pytest.raises(TypeError):
        dump_json({"when": object()})
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        dump_json(cycle)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


@given(json_values)
def test_dump_json_round_trips(value: object) -> None:
    assert json.loads(dump_json(value)) == value


@given(json_values, st.sampled_from([float("nan"), float("inf"), -float("inf")]))
def test_dump_json_never_prints_nan_or_infinity(value: object, bad: float) -> None:
    with pytest.raises(OutputError):
        dump_json([value, {"x": bad}])
