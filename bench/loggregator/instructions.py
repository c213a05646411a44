"""What the Loggregator emitter costs the push path in instructions, which the machine's load
does not distort (throughput.py's CPU-seconds swing with it): runs
build/bench/push_load/push_load_driver under `valgrind --tool=callgrind --separate-threads=yes`
in open loop only (--open-only: the same pushes every run, the agent stand-in keeps up so that
nothing is dropped), without and with --loggregator, and prints the server thread's
instructions per accepted metric for each and their ratio. callgrind counts user-space
instructions only: the kernel's share (sendmsg on loopback, waking the agent) is not in it.
Every run's callgrind files stay in --out for callgrind_annotate. From the source tree after the
release build:

    /usr/bin/python3 bench/loggregator/instructions.py [--seconds 3] [--rate 20] [--out DIR]
        [--driver PATH]
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "integration", "support"))
from loggregator_peers import BUILD_DIR, Agent, Certificates  # noqa: E402

DRIVER = os.path.join(BUILD_DIR, "bench", "push_load", "push_load_driver")
# A function only the server thread runs: how its callgrind file is told from the others'.
SERVER_MARK = "mgw::push::push_service::handle"


def totals(path):
    with open(path, errors="replace") as f:
        text = f.read()
    match = re.search(r"^totals: (\d+)", text, re.MULTILINE) or \
        re.search(r"^summary: (\d+)", text, re.MULTILINE)
    return int(match.group(1)), SERVER_MARK in text


def run(args, name, extra):
    prefix = os.path.join(args.out, name)
    for old in glob.glob(prefix + ".*"):
        os.remove(old)
    command = ["valgrind", "--tool=callgrind", "--separate-threads=yes",
               f"--callgrind-out-file={prefix}.%p", args.driver, "--open-only",
               "--seconds", str(args.seconds), "--rate", str(args.rate)] + extra
    done = subprocess.run(command, capture_output=True, text=True,
                          timeout=args.seconds * 60 + 300)
    if done.returncode != 0:
        print(done.stdout + done.stderr[-3000:])
        raise SystemExit(f"push_load_driver failed under callgrind ({done.returncode})")
    line = next(text for text in done.stdout.splitlines()
                if text.startswith("RESULT phase=total"))
    fields = dict(item.split("=") for item in line.split()[1:])
    server = [totals(path)[0] for path in glob.glob(prefix + ".*-*") if totals(path)[1]]
    if len(server) != 1:
        raise SystemExit(f"expected one server thread file for {prefix}, found {len(server)}")
    metrics = float(fields["metrics_accepted"])
    result = {"instructions": server[0], "metrics": metrics,
              "sent": float(fields["envelopes_sent"]),
              "dropped": float(fields["envelopes_dropped"])}
    print(f"{name}: server thread {server[0]:,} instructions, {metrics:.0f} metrics accepted, "
          f"{result['sent']:.0f} envelopes sent, {result['dropped']:.0f} dropped: "
          f"{server[0] / metrics:,.0f} instructions per metric", flush=True)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20,
                        help="open loop requests/s (x100 metrics); low enough for valgrind")
    parser.add_argument("--out", default=None, help="where the callgrind files go")
    parser.add_argument("--driver", default=DRIVER)
    args = parser.parse_args()
    args.out = args.out or tempfile.mkdtemp(prefix="mgw-callgrind-")
    os.makedirs(args.out, exist_ok=True)
    certs = Certificates()
    agent = Agent(certs, record=False)
    emitter = ["--loggregator", f"127.0.0.1:{agent.port}", "--ca", certs.ca, "--cert",
               certs.client_cert, "--key", certs.client_key]
    try:
        off = run(args, "off", [])
        on = run(args, "on", emitter)
    finally:
        agent.stop()
        certs.close()
    per_off = off["instructions"] / off["metrics"]
    per_on = on["instructions"] / on["metrics"]
    print(f"RESULT instructions_per_metric_off={per_off:.0f} on={per_on:.0f} "
          f"per_envelope={per_on - per_off:.0f} throughput_on_over_off={per_off / per_on:.3f} "
          f"dropped={on['dropped']:.0f} callgrind_files={args.out}", flush=True)
    if on["dropped"] > 0:
        print("warning: envelopes were dropped: lower --rate for a like-for-like count")


if __name__ == "__main__":
    main()
