"""The served worker (`KeepServingThreadWorker`): a thread keeps a connection while its requests follow at once."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from queue import SimpleQueue
from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn.workers.gthread import ThreadWorker

from simulator import server
from simulator.server import KeepServingThreadWorker
from simulator.settings import Settings
from tests.conftest import ServedSandbox


class FakeConn:
    def __init__(self, buffered: list[bytes]) -> None:
        self.buffered = buffered  # what the parser holds after each request (read ahead with its body)
        self.parser = SimpleNamespace(unreader=SimpleNamespace(buf=self))
        self.sock = object()

    def getvalue(self) -> bytes:
        return self.buffered.pop(0) if self.buffered else b""


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[KeepServingThreadWorker, list[Any], list[bool]]]:
    """A worker without its process around it; gthread's `handle` (one request) and the socket wait are scripted."""
    w = KeepServingThreadWorker.__new__(KeepServingThreadWorker)
    w.alive = True
    w.tpool = SimpleNamespace(_work_queue=SimpleQueue())
    served: list[Any] = []
    results: list[Any] = []
    arrivals: list[bool] = []  # whether the next request arrives within the wait, one per wait

    def one_request(self: Any, conn: Any) -> Any:
        served.append(conn)
        return results.pop(0) if results else True

    monkeypatch.setattr(ThreadWorker, "handle", one_request)
    monkeypatch.setattr(server, "_readable", lambda _sock, _timeout: arrivals.pop(0) if arrivals else False)
    yield w, served, arrivals
    assert not arrivals, "the worker stopped waiting earlier than the script says"


def test_requests_that_follow_at_once_are_served_by_the_same_thread(worker: Any) -> None:
    w, served, arrivals = worker
    arrivals.extend([True, True, True])
    conn = FakeConn([])
    assert w.handle(conn) is True  # the connection goes back to the poller, kept alive
    assert served == [conn] * 4


def test_a_quiet_connection_goes_back_to_the_poller_after_one_request(worker: Any) -> None:
    w, served, _ = worker
    assert w.handle(FakeConn([])) is True
    assert len(served) == 1


def test_bytes_already_read_ahead_are_served_without_waiting(worker: Any) -> None:
    w, served, _ = worker
    assert w.handle(FakeConn([b"GET /next HTTP/1.1\r\n", b""])) is True
    assert len(served) == 2


def test_no_thread_keeps_a_connection_while_other_connections_wait(worker: Any) -> None:
    w, served, arrivals = worker
    w.tpool._work_queue.put("another connection")
    arrivals.append(True)  # the client's next request is there, but another connection was first
    assert w.handle(FakeConn([])) is True
    assert len(served) == 1
    arrivals.clear()


def test_the_sandbox_server_runs_this_worker() -> None:
    cfg = server.SandboxServer(Settings(port=0, workers=2), quiet=True).cfg
    assert cfg.worker_class is KeepServingThreadWorker
    assert cfg.threads == 8 and cfg.workers == 2


def test_a_closed_connection_ends_it(worker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    w, served, arrivals = worker
    monkeypatch.setattr(ThreadWorker, "handle", lambda _self, conn: (served.append(conn), False)[1])
    arrivals.append(True)  # even with bytes waiting (the client's FIN)
    assert w.handle(FakeConn([])) is False
    assert len(served) == 1
    arrivals.clear()


def test_a_stopping_worker_keeps_no_connection(worker: Any) -> None:
    w, served, arrivals = worker
    w.alive = False
    arrivals.append(True)
    assert w.handle(FakeConn([])) is True
    assert len(served) == 1
    arrivals.clear()


# ------------------------------------------------------------------------------- against a served sandbox


def _read_response(sock: socket.socket, buf: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 response (Content-Length framed) off `sock`: (status, leftover bytes)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-response"
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    fields = dict(h.partition(b":")[::2] for h in lines[1:])
    length = int(next(v for k, v in fields.items() if k.strip().lower() == b"content-length"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        rest += chunk
    return int(lines[0].split()[1]), rest[length:]


def _get(path: str, port: int) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


@pytest.fixture(scope="module")
def one_worker() -> Iterator[ServedSandbox]:
    s = ServedSandbox(workers=1)
    yield s
    s.stop()


@pytest.mark.served
def test_pipelined_requests_on_one_connection_are_all_answered(one_worker: ServedSandbox) -> None:
    port = int(one_worker.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_get("/_sandbox/health", port) * 3)
        buf = b""
        for _ in range(3):
            status, buf = _read_response(sock, buf)
            assert status == 200


@pytest.mark.served
def test_a_connection_quiet_longer_than_the_wait_is_still_served(one_worker: ServedSandbox) -> None:
    port = int(one_worker.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        buf = b""
        for pause in (0, server.KEEP_SERVING_S * 4, 0, server.KEEP_SERVING_S * 10):
            time.sleep(pause)
            sock.sendall(_get("/_sandbox/health", port))
            status, buf = _read_response(sock, buf)
            assert status == 200


@pytest.mark.served
def test_more_busy_connections_than_threads_are_all_served(one_worker: ServedSandbox) -> None:
    # Eight threads, twenty connections each sending back to back: no connection may starve behind kept ones.
    port = int(one_worker.base_url.rsplit(":", 1)[1])
    answered = [0] * 20
    errors: list[BaseException] = []

    def client(i: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                buf = b""
                for _ in range(25):
                    sock.sendall(_get("/_sandbox/health", port))
                    status, buf = _read_response(sock, buf)
                    assert status == 200
                    answered[i] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[0]
    assert answered == [25] * 20
