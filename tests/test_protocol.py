"""The sandbox protocol: every message is validated; the zygote accepts one reply per request.

Hand-built lines, no sandbox: each test runs in milliseconds.
"""

from __future__ import annotations

import json

import pytest

from autograder.sandbox import driver as driver_module
from autograder.sandbox import protocol
from autograder.sandbox.protocol_fields import ProtocolError


def _line(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_a_message_survives_encoding() -> None:
    done = protocol.CellDone("tok", 3, [{"output_type": "stream", "name": "stdout", "text": "hi\n"}],
                             None, False, 0.25)
    assert protocol.decode(protocol.encode(done), protocol.FROM_CHILD) == done


@pytest.mark.parametrize(("line", "complaint"), [
    (b"not json", "not JSON"),
    (b"[1, 2]", "not an object"),
    (_line(t="exit", unit=None, finished=True), "unknown message kind 'exit'"),  # a zygote kind
    (_line(t="integrity_report", token="x"), "missing field 'changes'"),
    (_line(t="integrity_report", token="x", changes=[], extra=1), "unexpected field"),
    (_line(t="integrity_report", token="x", changes="numpy.allclose"), "is not list"),
    (_line(t="integrity_report", token="x", changes=[7]), "is not str"),
    (_line(t="cell_done", token="x", index=-1, outputs=[], error=None, over=False, dt=0.1), "is not int"),
    (_line(t="cell_done", token="x", index=True, outputs=[], error=None, over=False, dt=0.1), "is not int"),
    (_line(t="cell_done", token="x", index=0, outputs=[], error=None, over=False, dt="soon"), "is not float"),
    (_line(t="cell_done", token="x", index=0, outputs=[{"output_type": "script"}], error=None, over=False,
           dt=0.1), "unknown type 'script'"),
    (_line(t="probe_done", token="x", k=0, record=None, ename="E" * 300, evalue=None, dt=0.0, changes=[]),
     "300 characters (at most 200)"),
])
def test_a_child_line_that_is_not_a_valid_reply_is_refused_with_a_reason(line: bytes, complaint: str) -> None:
    with pytest.raises(ProtocolError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        protocol.decode(line, protocol.FROM_CHILD)


@pytest.mark.parametrize("unit", ["probe:x", "cell:", "cell:-1", "../cell:1", "probe:1 ", "chapter:2"])
def test_units_are_cell_or_probe_with_a_number(unit: str) -> None:
    with pytest.raises(ProtocolError, match="is not cell:<n> or probe:<n>"):
        protocol.decode(_line(t="interrupted", unit=unit), protocol.FROM_ZYGOTE)


class _Sent(list):
    """Collects what the driver would send the grader."""


@pytest.fixture()
def driver(monkeypatch: pytest.MonkeyPatch) -> tuple[driver_module.Attempt, _Sent]:
    """A driver's reply check without a child process behind it."""
    sent = _Sent()
    monkeypatch.setattr(driver_module, "send", sent.append)
    attempt = driver_module.Attempt.__new__(driver_module.Attempt)
    attempt.unit = "cell:0"
    return attempt, sent


def _reply(message: protocol.Message) -> bytes:
    return protocol.encode(message).rstrip(b"\n")


def test_the_reply_to_the_pending_request_is_accepted(driver) -> None:
    attempt, sent = driver
    request = protocol.RunCell("a1", 0, "x = 1")
    reply = protocol.CellDone("a1", 0, [], None, False, 0.1)
    assert attempt._accept(_reply(reply), request) == reply
    assert sent == []


@pytest.mark.parametrize(("line", "why"), [
    (_reply(protocol.CellDone("forged", 0, [], None, False, 0.1)), "another token or unit"),
    (_reply(protocol.CellDone("a1", 5, [], None, False, 0.1)), "another token or unit"),
    (_reply(protocol.IntegrityReport("a1", [])), "unsolicited integrity_report"),
    (_reply(protocol.ProbeDone("a1", 0, "{}", None, None, 0.1, [])), "unsolicited probe_done"),
    (b'{"t": "interrupted", "unit": "probe:x"}', "malformed message: unknown message kind"),
    (b'{"t": "cell_done"', "malformed message: a line that is not JSON"),
])
def test_anything_but_the_one_reply_becomes_a_violation(driver, line: bytes, why: str) -> None:
    attempt, sent = driver
    assert attempt._accept(line, protocol.RunCell("a1", 0, "x = 1")) is None
    assert len(sent) == 1 and isinstance(sent[0], protocol.Violation)
    assert why in sent[0].reason and sent[0].unit == "cell:0"


def test_a_line_after_the_last_reply_is_a_violation(driver) -> None:
    attempt, sent = driver
    attempt._accept(_reply(protocol.Finished("z", [])), None)
    assert "nothing was asked" in sent[0].reason


def test_a_child_error_is_relayed_as_the_childs_own_claim(driver) -> None:
    attempt, sent = driver
    assert attempt._accept(_reply(protocol.ChildError("Traceback ...")), protocol.Finish("t")) is None
    assert sent == [protocol.ChildError("Traceback ...")]


def test_a_child_kind_is_never_a_zygote_message() -> None:
    """Child replies and zygote messages are disjoint kinds: nothing the child writes decodes
    as an Exit, an Interrupted, a Limit or a Violation on the grader's side."""
    child_kinds = {k.KIND for k in protocol.FROM_CHILD} - {"child_error"}
    assert child_kinds.isdisjoint(k.KIND for k in protocol.FROM_ZYGOTE)


def test_line_reader_returns_whole_lines_and_stops_at_end(tmp_path) -> None:
    import os

    read, write = os.pipe()
    os.write(write, b'{"t": "quit"}\n{"t": "qu')
    os.write(write, b'it"}\n')
    os.close(write)
    reader = protocol.LineReader(read)
    assert [reader.read(), reader.read(), reader.read()] == [b'{"t": "quit"}', b'{"t": "quit"}', None]
    os.close(read)


def test_line_reader_reads_a_line_of_megabytes_and_keeps_what_follows_it() -> None:
    """A probe message carries a check's images (tens of MB): it arrives in hundreds of chunks,
    and the next line may start in the chunk that ends it."""
    import os
    import threading

    line = bytes(range(10)) * 2_400_000  # 24 MB, no newline byte
    read, write = os.pipe()

    def feed() -> None:
        for data in (line + b"\nnext", b" line\n", b"partial"):
            view = memoryview(data)
            while view:
                view = view[os.write(write, view):]
        os.close(write)

    feeder = threading.Thread(target=feed)
    feeder.start()
    reader = protocol.LineReader(read)
    assert [reader.read(), reader.read(), reader.read()] == [line, b"next line", None]
    feeder.join()
    os.close(read)
