"""The long commands a person runs by hand, `metrics-gateway check` on a large exposition and
`metrics-gateway broker import-promfetcher` on a large dump, run by the real binary twice: under
a pseudo-terminal (Python's pty) they show a progress line on stderr (done of total, rewritten
in place with a carriage return, at most about ten times a second, erased at the end, and any
diagnostic written on a clean line); in a pipe they write nothing but what they wrote before."""

import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import GATEWAY, run_tests  # noqa: E402

REWRITE = b"\r\x1b[K"


def run_on_a_terminal(args, stdin=subprocess.DEVNULL):
    """Runs the binary with stderr on a pseudo-terminal: (exit code, stdout, what the terminal
    received, seconds it ran)."""
    leader, follower = pty.openpty()
    started = time.monotonic()
    process = subprocess.Popen([GATEWAY, *args], stdin=stdin, stdout=subprocess.PIPE,
                               stderr=follower)
    os.close(follower)
    screen = b""
    deadline = started + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        elif process.poll() is not None:
            break
    out = process.communicate(timeout=60)[0].decode()
    elapsed = time.monotonic() - started
    os.close(leader)
    return process.returncode, out, screen, elapsed


def run_in_a_pipe(args, stdin=subprocess.DEVNULL):
    process = subprocess.run([GATEWAY, *args], stdin=stdin, capture_output=True, timeout=120)
    return process.returncode, process.stdout.decode(), process.stderr


def updates(screen):
    """The texts the progress line showed, in order (erasures without text left out)."""
    return [part.split(b"\r\n")[0].decode() for part in screen.split(REWRITE)[1:]
            if part and not part.startswith(b"\r\n")]


def assert_rate_limited(shown, elapsed):
    # At most ten a second, and a phase's first update (at most one per phase) besides.
    assert len(shown) <= elapsed * 10 + 3, (len(shown), elapsed, shown[:20])


def big_exposition(path, families=400, series=2000):
    """About 45 MB of valid Prometheus text: enough that reading it takes several updates."""
    with open(path, "w") as f:
        for family in range(families):
            f.write(f"# HELP load_{family} A gauge of the progress test.\n")
            f.write(f"# TYPE load_{family} gauge\n")
            f.write("".join(f'load_{family}{{shard="{family}",series="{i:06d}",'
                            f'zone="zone-{i % 7}"}} {i}.5\n' for i in range(series)))
    return os.path.getsize(path)


def test_check_shows_progress_on_a_terminal_only():
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "big.prom")
        size = big_exposition(path)
        assert size > 40 << 20, size

        code, out, err = run_in_a_pipe(["check", path])
        assert (code, out, err) == (0, "", b""), (code, out, err[:300])

        code, out, screen, elapsed = run_on_a_terminal(["check", path])
        assert code == 0 and out == "", (code, out, screen[-300:])
        shown = updates(screen)
        assert shown, screen[:300]
        total = f"{size / (1 << 20):.1f} MiB"
        reading = [text for text in shown if text.startswith("reading: ")]
        assert reading, shown
        for text in reading:
            assert re.fullmatch(rf"reading: [0-9.]+ (KiB|MiB) of {re.escape(total)} \(\d+%\)",
                                text), text
        assert shown[-1] == f"checking: {total}", shown
        assert_rate_limited(shown, elapsed)
        assert screen.endswith(REWRITE), screen[-100:]  # nothing left on the terminal

        # Standard input that is a file has a total too; a bad input's diagnostic gets a line
        # of its own, after the progress line is erased.
        with open(path, "a") as f:
            f.write("load_0{shard=\"0\" 1\n")
        with open(path, "rb") as stdin:
            code, out, screen, _ = run_on_a_terminal(["check", "-"], stdin=stdin)
        assert code == 1, (code, screen[-300:])
        shown = updates(screen)
        assert any(re.fullmatch(r"reading: .* of [0-9.]+ MiB \(\d+%\)", t) for t in shown), shown
        tail = screen[screen.rindex(REWRITE) + len(REWRITE):]
        assert re.match(rb"\d+:\d+: ", tail), screen[-300:]
        with open(path, "rb") as stdin:
            code, out, err = run_in_a_pipe(["check", "-"], stdin=stdin)
        assert code == 1 and b"\r" not in err and b"\x1b" not in err, err[:300]
        assert re.fullmatch(rb"\d+:\d+: [^\n]+\n", err), err[:300]


def test_import_promfetcher_shows_progress_on_a_terminal_only():
    rows = 60000
    with tempfile.TemporaryDirectory() as work:
        dump = os.path.join(work, "app_endpoints.tsv")
        with open(dump, "w") as f:
            f.write("guid\tapp_guid\tendpoint\n")
            for i in range(rows):
                f.write(f"binding-{i:06d}\tapp-{i:06d}\t/metrics/{i}\n")

        code, out, err = run_in_a_pipe(
            ["broker", "import-promfetcher", "--database", os.path.join(work, "a.db"), dump])
        assert code == 0 and f"imported {rows} bindings" in out, (code, out, err[:300])
        assert err == b"", err[:300]

        code, out, screen, elapsed = run_on_a_terminal(
            ["broker", "import-promfetcher", "--database", os.path.join(work, "b.db"), dump])
        assert code == 0 and f"imported {rows} bindings" in out, (code, out, screen[-300:])
        shown = updates(screen)
        reading = [text for text in shown if text.startswith("reading: ")]
        importing = [text for text in shown if text.startswith("importing: ")]
        assert reading and importing, shown
        assert re.fullmatch(r"reading: .* of [0-9.]+ MiB \(\d+%\), \d+ rows", reading[0]), reading
        for text in importing:
            match = re.fullmatch(rf"importing: (\d+) of {rows} rows \((\d+)%\)", text)
            assert match and int(match.group(2)) == int(match.group(1)) * 100 // rows, text
        assert shown.index(importing[0]) > shown.index(reading[-1]), shown
        assert_rate_limited(shown, elapsed)
        assert screen.endswith(REWRITE), screen[-100:]


if __name__ == "__main__":
    run_tests([test_check_shows_progress_on_a_terminal_only,
               test_import_promfetcher_shows_progress_on_a_terminal_only])
