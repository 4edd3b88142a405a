"""A throw-away ``redis-server`` on loopback, for fleet tests: ``with RedisServer() as r: r.url``.

It runs the ``redis-server`` found on ``PATH`` (or the *executable* given) with nothing persisted
(``--save "" --appendonly no``, a temporary ``--dir``), listening on ``127.0.0.1`` only, on a free
port that :meth:`RedisServer.start` keeps across :meth:`~RedisServer.stop`/``start`` (an outage
and a recovery at the same address). A few administrative commands (``FLUSHALL``, ``INFO``…) are
sent over a plain socket, so using it needs no Redis client library.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

__all__ = ["RedisServer", "RedisServerError"]

#: Seconds :meth:`RedisServer.start` waits for the server to answer PING.
START_TIMEOUT = 10.0

Reply = bytes | int | list["Reply"] | None


class RedisServerError(RuntimeError):
    """``redis-server`` is missing, did not start, or answered an administrative command with an
    error."""


class RedisServer:
    """A ``redis-server`` process on ``127.0.0.1`` for tests; see the module documentation.

    * *executable*: path of ``redis-server`` (default: found on ``PATH``).
    * *port*: 0 (default) = a free port chosen at the first :meth:`start`, then kept.
    * *password*: started with ``--requirepass``; it is in :attr:`url`, never in ``repr()``.
    """

    def __init__(
        self, executable: str | None = None, *, port: int = 0, password: str | None = None
    ) -> None:
        found = executable or shutil.which("redis-server")
        if found is None:
            raise RedisServerError(
                "redis-server not found on PATH (Debian/Ubuntu: apt-get install redis-server)"
            )
        self.executable = found
        self.port = port
        self._password = password
        self._process: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the server (on the same port as before, if it ran already) and wait until it
        answers PING. Idempotent while it runs."""
        if self.running:
            return
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="wecom-redis-")
        attempts = 5 if self.port == 0 else 1
        for attempt in range(attempts):
            port = self.port or _free_port()
            if self._launch(port):
                self.port = port
                return
            if attempt == attempts - 1:
                log = Path(self._dir, "redis.log").read_text(errors="replace")[-2000:]
                raise RedisServerError(f"redis-server did not start on port {port}:\n{log}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s); the port stays reserved for the next
        :meth:`start`. Idempotent."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def close(self) -> None:
        """Stop the server and delete its directory."""
        self.stop()
        directory, self._dir = self._dir, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RedisServer 127.0.0.1:{self.port} {state}>"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The process ID while it runs."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def url(self) -> str:
        """``redis://[:password@]127.0.0.1:PORT/0`` (known once started)."""
        if not self.port:
            raise RedisServerError("RedisServer was never started: no port yet")
        auth = f":{self._password}@" if self._password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    # --- administration ---------------------------------------------------------------------

    def command(self, *args: str | bytes | int) -> Reply:
        """Send one command on a fresh connection (authenticated) and return its reply
        (bytes, int, list or None); an error reply raises :class:`RedisServerError`."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            reader = sock.makefile("rb")
            if self._password:
                _send(sock, ("AUTH", self._password))
                _read(reader)
            _send(sock, args)
            return _read(reader)

    def flushall(self) -> None:
        """Delete every key."""
        self.command("FLUSHALL")

    def reset(self) -> None:
        """A clean slate between tests: no keys, no cached scripts, command statistics at 0."""
        self.command("FLUSHALL")
        self.command("SCRIPT", "FLUSH")
        self.command("CONFIG", "RESETSTAT")

    def info(self, section: str = "default") -> dict[str, str]:
        """``INFO section`` as a dict of its ``key:value`` lines."""
        raw = self.command("INFO", section)
        assert isinstance(raw, bytes)
        result: dict[str, str] = {}
        for line in raw.decode().splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith("#"):
                result[key] = value
        return result

    def command_calls(self) -> dict[str, int]:
        """How many times each command ran since the start (or :meth:`reset`), from
        ``INFO commandstats`` (``{"evalsha": 120, …}``; subcommands as ``"client|setname"``)."""
        calls: dict[str, int] = {}
        for key, value in self.info("commandstats").items():
            fields = dict(part.split("=", 1) for part in value.split(","))
            calls[key.removeprefix("cmdstat_")] = int(fields["calls"])
        return calls

    def keys(self, pattern: str = "*") -> list[str]:
        """The keys matching *pattern* (``SCAN``, so safe on a busy server)."""
        found: list[str] = []
        cursor = b"0"
        while True:
            reply = self.command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            assert isinstance(reply, list)
            next_cursor, batch = reply
            assert isinstance(next_cursor, bytes)
            assert isinstance(batch, list)
            found.extend(k.decode() for k in batch if isinstance(k, bytes))
            if next_cursor == b"0":
                return found
            cursor = next_cursor

    @contextlib.contextmanager
    def monitor(self) -> Iterator[list[str]]:
        """Record the commands clients send while the block runs (``MONITOR``), lower-cased,
        without those a script runs inside Redis: what a client costs in round trips.

        >>> with server.monitor() as sent:  # doctest: +SKIP
        ...     await client.schedules.get([schedule_id])
        >>> sent  # doctest: +SKIP
        ['evalsha', 'evalsha']
        """
        sent: list[str] = []
        marker = f"wecom-monitor-{secrets.token_hex(8)}"
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        try:
            reader = sock.makefile("rb")
            if self._password:
                _send(sock, ("AUTH", self._password))
                _read(reader)
            _send(sock, ("MONITOR",))
            if _read(reader) != b"OK":
                raise RedisServerError("MONITOR was refused")
            yield sent
            self.command("ECHO", marker)  # the last line to read
            for line in iter(reader.readline, b""):
                text = line.decode(errors="replace")
                if marker in text:
                    break
                source = text.partition("[")[2].partition("]")[0]
                if source.split()[-1:] == ["lua"]:
                    continue  # run by a script, not sent by a client
                command = text.partition("] ")[2].split(" ", 1)[0].strip('"').lower()
                sent.append(command)
        finally:
            sock.close()

    # --- internals --------------------------------------------------------------------------

    def _launch(self, port: int) -> bool:
        assert self._dir is not None
        args = [
            self.executable,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self._dir,
            "--daemonize", "no",
            "--logfile", "redis.log",
        ]  # fmt: skip
        if self._password:
            # Given on standard input (a config file "-"), so it is not on the command line.
            args.append("-")
        process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self._dir,
            start_new_session=True,  # Ctrl-C in a test run does not reach it before cleanup
        )
        assert process.stdin is not None
        if self._password:
            process.stdin.write(f'requirepass "{self._password}"\n'.encode())
        process.stdin.close()
        self._process = process
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._process = None
                return False
            with contextlib.suppress(OSError, RedisServerError):
                saved, self.port = self.port, port
                try:
                    if self.command("PING") == b"PONG":
                        return True
                finally:
                    self.port = saved
            time.sleep(0.02)
        self.stop()
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _send(sock: socket.socket, args: tuple[str | bytes | int, ...]) -> None:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    sock.sendall(b"".join(parts))


def _read(reader: BinaryIO) -> Reply:
    line = reader.readline()
    if not line:
        raise RedisServerError("connection closed by redis-server")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return bytes(rest)
    if kind == b"-":
        raise RedisServerError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        return reader.read(size + 2)[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read(reader) for _ in range(count)]
    raise RedisServerError(f"unexpected reply from redis-server: {line!r}")
