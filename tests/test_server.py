"""run_visualization.py as a user runs it: a real waitress server on a real socket.

The parallel test sends many different analyses at once and checks that every answer is the one
its own input gets alone: no request ever sees another request's trace. The CLI tests check that
bad weights end the program with one clear line and exit code 1, never a traceback."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from app.encoding import decode

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "weights" / "mnist" / "gallery.json"
SAMPLE_IDS = [s["id"] for s in json.loads(GALLERY.read_text())["samples"]]
STARTUP_TIMEOUT = 120  # seconds: importing torch on a busy 2-core machine is slow
THREADS, REQUESTS_PER_THREAD = 8, 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, timeout: float = STARTUP_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run_visualization.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=server_env())


def server_env() -> dict:
    # One torch thread per server process: the tests share 2 cores with each other and anything else.
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


class Server:
    """A run_visualization.py subprocess; output goes to files so a full pipe can never block it."""

    def __init__(self, tmp: Path, *args: str):
        self.port = free_port()
        self.out, self.err = tmp / "stdout.txt", tmp / "stderr.txt"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "run_visualization.py", "--port", str(self.port), *args],
                                         cwd=ROOT, stdout=out, stderr=err, env=server_env())
        self._wait_for_port()

    def _wait_for_port(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {self.err.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"server did not listen on port {self.port} within {STARTUP_TIMEOUT} s")

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def server(random_weights, tmp_path_factory):
    # No --host: the default must be loopback only.
    s = Server(tmp_path_factory.mktemp("server"), "--weights", str(random_weights), "--threads", "4",
               "--device", "cpu")
    yield s
    s.stop()


def request(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    r = conn.getresponse()
    return r.status, r.getheader("Content-Type"), r.read()


def test_prints_url_and_listens_on_loopback_only(server):
    lines = server.out.read_text().splitlines()
    assert lines == [f"CapsNet Visualizer: open http://localhost:{server.port}"]
    listening = _listening_addresses(server.port)
    if listening is not None:  # Linux: read the kernel's socket table
        assert listening == {"127.0.0.1"}, listening


def _listening_addresses(port: int) -> set[str] | None:
    """The local addresses with a TCP socket listening on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            return None
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                if len(address) == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
                else:
                    words = [bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, 32, 8)]
                    found.add(socket.inet_ntop(socket.AF_INET6, b"".join(words)))
    return found


def test_model_info_over_http(server):
    conn = server.connection()
    status, ctype, data = request(conn, "GET", "/api/model")
    assert status == 200 and ctype.startswith("application/json")
    info = json.loads(data)
    assert info["parameters"]["total"] == 8215568 and info["untrained"] is False
    status, ctype, data = request(conn, "GET", "/")  # keep-alive: the same connection again
    assert status == 200 and ctype.startswith("text/html")
    status, ctype, data = request(conn, "POST", "/api/analyze", {"sample": "no-such-sample"})
    assert status == 404 and json.loads(data)["error"].startswith("unknown sample id")
    conn.close()


def _summary(body: dict) -> dict:
    """What must be identical between a request answered alone and the same request under load."""
    caps = body["layers"]["digit_caps"]
    last = body["layers"]["routing"]["iterations"][-1]["c"]
    return {
        "prediction": body["prediction"],
        "lengths": body["lengths"],
        "iterations": body["iterations"],
        "vectors": decode(caps["vectors"]),
        "c": decode(last),
        "c_scale": last["scale"],
        "input": decode(body["input"]),
    }


def _assert_same(got: dict, want: dict, what: str) -> None:
    assert got["prediction"] == want["prediction"], what
    assert got["iterations"] == want["iterations"], what
    np.testing.assert_allclose(got["lengths"], want["lengths"], atol=2e-6, err_msg=what)
    np.testing.assert_allclose(got["vectors"], want["vectors"], rtol=1e-4, atol=1e-8, err_msg=what)
    np.testing.assert_allclose(got["c"], want["c"], atol=1.01 * want["c_scale"], err_msg=what)
    np.testing.assert_array_equal(got["input"], want["input"], err_msg=what)


def test_parallel_requests_get_their_own_answers(server):
    # 16 different inputs: different digits, iteration counts, and one ablation without routing.
    inputs = [{"sample": SAMPLE_IDS[(11 * k) % len(SAMPLE_IDS)], "iterations": 1 + k % 5} for k in range(15)]
    # its own sample: with trained weights routing moves c_ij only a little, so the same digit with and
    # without routing can agree to 1e-4
    inputs.append({"sample": SAMPLE_IDS[(11 * 15) % len(SAMPLE_IDS)], "uniform_routing": True})

    conn = server.connection()
    alone = []
    for body in inputs:
        status, _, data = request(conn, "POST", "/api/analyze", body)
        assert status == 200, data[:300]
        alone.append(_summary(json.loads(data)))
    conn.close()
    # the inputs really give different answers, so a mix-up would be seen
    for i in range(len(inputs)):
        for j in range(i):
            assert not np.allclose(alone[i]["vectors"], alone[j]["vectors"], rtol=1e-4, atol=1e-8), (i, j)

    start = threading.Barrier(THREADS)

    def client(t: int) -> list[tuple[int, dict]]:
        conn = server.connection()
        start.wait()
        answers = []
        for n in range(REQUESTS_PER_THREAD):
            k = (t * 7 + n) % len(inputs)  # every thread walks the inputs from a different place
            status, _, data = request(conn, "POST", "/api/analyze", inputs[k])
            assert status == 200, data[:300]
            answers.append((k, _summary(json.loads(data))))
        conn.close()
        return answers

    t0 = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(client, range(THREADS)))
    elapsed = time.monotonic() - t0

    assert sum(len(r) for r in results) == THREADS * REQUESTS_PER_THREAD
    for t, answers in enumerate(results):
        for n, (k, got) in enumerate(answers):
            _assert_same(got, alone[k], f"thread {t}, request {n}, input {inputs[k]}")
    print(f"{THREADS * REQUESTS_PER_THREAD} parallel analyses in {elapsed:.1f} s")


def test_missing_weights_file_is_one_line(tmp_path):
    missing = tmp_path / "nothing-here.pt"
    r = cli("--weights", str(missing), "--port", str(free_port()))
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"error: weights file {missing} not found;")
    assert "python -m model.train" in lines[0]
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("content", [b"\x80\x02garbage" + bytes(range(256)) * 8, b"", b"PK\x03\x04 not a zip"],
                         ids=["garbage", "empty", "fake-zip"])
def test_corrupt_weights_file_is_one_line(tmp_path, content):
    bad = tmp_path / "capsnet_mnist.pt"
    bad.write_bytes(content)
    r = cli("--weights", str(bad), "--port", str(free_port()))
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"error: weights file {bad} is corrupt")
    assert "Traceback" not in r.stderr


def test_weights_of_something_else_is_one_line(tmp_path):
    import torch

    other = tmp_path / "other.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "config": {"image_size": 28}}, other)
    r = cli("--weights", str(other), "--port", str(free_port()))
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "not CapsNet weights" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("args, words", [(["--port", "0"], "--port 0"), (["--port", "70000"], "--port 70000"),
                                         (["--threads", "0"], "--threads")])
def test_bad_arguments_exit_2_with_one_line(args, words):
    r = cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], r.stderr


def test_help_answers_without_loading_torch():
    r = cli("--help")
    assert r.returncode == 0 and "--allow-untrained" in r.stdout and "--threads" in r.stdout
    probe = "import sys, run_visualization as rv; rv.parse_args([]); print(sorted({'torch', 'flask'} & set(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


# --- at the door: the Host check and the body limit, over a real socket ------------------------------

def raw_exchange(port: int, head: bytes, timeout: float = 30) -> tuple[int, dict, bytes]:
    """Sends `head` (request line and headers, maybe a body) on a fresh socket and reads the whole answer
    (the server closes or sends Content-Length bytes). Returns (status, headers lower-cased, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        top, _, body = data.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        want = int(headers.get("content-length", "0"))
        while len(body) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(lines[0].split()[1]), headers, body


def get(port: int, path: str, host: str) -> tuple[int, dict, bytes]:
    return raw_exchange(port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST", "localhost:{port}",
                                  "127.0.0.1:{port}", "[::1]:{port}"])
def test_loopback_host_names_are_answered(server, host):
    status, headers, body = get(server.port, "/api/model", host.format(port=server.port))
    assert status == 200 and headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "localhost.evil.example", "127.0.0.2",
                                  "localhost.", "[::2]:{port}", "", "localhost:99999999", "user@localhost"])
@pytest.mark.parametrize("path", ["/api/model", "/", "/static//x", "/api/nothing"])
def test_other_host_names_are_refused_with_json(server, host, path):
    status, headers, body = get(server.port, path, host.format(port=server.port))
    assert status == 421, body
    assert headers["content-type"].startswith("application/json") and "location" not in headers
    assert "--allowed-host" in json.loads(body)["error"]


def test_no_redirect_for_doubled_slashes(server):
    # Werkzeug would answer /static//x with a 308 whose Location is built from the Host header.
    status, headers, body = get(server.port, "/static//js/app.js", "localhost")
    assert status == 404 and "location" not in headers


def test_a_huge_body_is_refused_before_it_is_sent(server):
    # Only the headers go out: the server must answer without waiting for 40 MB it will never get.
    head = (b"POST /api/analyze HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 40000000\r\n\r\n")
    t0 = time.monotonic()
    status, headers, body = raw_exchange(server.port, head, timeout=20)
    assert status == 413 and time.monotonic() - t0 < 10, body
    assert "json" not in headers.get("content-type", "")  # waitress's own answer (README: the one text 413)


def test_a_form_field_over_its_limit_names_the_limit(server):
    # Under the body cap, so it reaches the app: its 413 is JSON and names the limit that was hit.
    field = b"x" * 600_000
    form = (b'--b0\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\nPNG\r\n'
            b'--b0\r\nContent-Disposition: form-data; name="sample"\r\n\r\n' + field + b"\r\n--b0--\r\n")
    head = (f"POST /api/analyze HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            f"Content-Type: multipart/form-data; boundary=b0\r\nContent-Length: {len(form)}\r\n\r\n").encode()
    status, headers, body = raw_exchange(server.port, head + form)
    assert status == 413 and headers["content-type"].startswith("application/json")
    assert "MAX_FORM_MEMORY_SIZE" in json.loads(body)["error"]


def test_allowed_host_adds_a_name(random_weights, tmp_path):
    s = Server(tmp_path, "--weights", str(random_weights), "--threads", "1", "--device", "cpu",
               "--allowed-host", "capsnet.test", "--allowed-host", "Other.Test")
    try:
        for host in ("capsnet.test", f"capsnet.test:{s.port}", "other.test", "localhost"):
            assert get(s.port, "/api/model", host)[0] == 200, host
        assert get(s.port, "/api/model", "evil.example")[0] == 421
    finally:
        s.stop()


@pytest.mark.parametrize("args, names", [
    ([], []), (["--host", "0.0.0.0"], []), (["--host", "::1"], []),
    (["--host", "192.168.1.5"], ["192.168.1.5"]), (["--host", "fe80::1"], ["[fe80::1]"]),
    (["--host", "0.0.0.0", "--allowed-host", "pi.local", "--allowed-host", "10.0.0.2"], ["pi.local", "10.0.0.2"]),
])
def test_allowed_hosts_from_the_command_line(args, names):
    import run_visualization as rv

    assert rv._allowed_hosts(rv.parse_args(args)) == names
