"""What the Loggregator emitter costs the push path (issue 14's throughput figure): runs
build/bench/push_load/push_load_driver (the gateway's HTTP server and push service on one I/O
thread, closed loop, then open loop) without and then with --loggregator, which adds the emitter
on that same thread sending every accepted metric to the grpc-go agent stand-in
(test/integration/loggregator_agent, counting only) over mutual TLS on loopback. The runs
alternate, --rounds times, so that a change in the machine's load hits both alike. Prints the
driver's RESULT lines and, per round, the ratio of metrics per server CPU-second (on/off) and
the envelopes per second the agent was sent. From the source tree after the release build:

    /usr/bin/python3 bench/loggregator/throughput.py [--seconds 10] [--connections 16] [--rounds 3]
        [--rate R] [--threads N]

--threads 2 runs the server on two threads as the gateway's `threads: 2` does: the emitter's
strand may then run beside the push path, and the closed loop's wall-clock metrics/s off/on is
the figure (per server CPU-second then sums both threads).
"""

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "integration", "support"))
from loggregator_peers import BUILD_DIR, Agent, Certificates  # noqa: E402

DRIVER = os.path.join(BUILD_DIR, "bench", "push_load", "push_load_driver")


def run(args, extra):
    command = [DRIVER, "--seconds", str(args.seconds), "--connections",
               str(args.connections), "--threads", str(args.threads)] + \
        (["--rate", str(args.rate)] if args.rate else []) + extra
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.seconds * 4 + 60)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    for line in lines:
        print(("on  " if extra else "off ") + line, flush=True)
    if done.returncode != 0:
        print(done.stdout + done.stderr)
        raise SystemExit(f"push_load_driver failed ({done.returncode})")
    return lines


def field(lines, phase, name):
    for line in lines:
        if f"phase={phase} " in line:
            match = re.search(rf"\b{name}=([0-9.]+)", line)
            if match:
                return float(match.group(1))
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="server I/O threads")
    parser.add_argument("--rate", type=float, default=0,
                        help="open loop requests/s (x100 metrics); 0: half the closed loop's")
    args = parser.parse_args()
    certs = Certificates()
    agent = Agent(certs, record=False)
    emitter = ["--loggregator", f"127.0.0.1:{agent.port}", "--ca", certs.ca, "--cert",
               certs.client_cert, "--key", certs.client_key]
    try:
        for round_number in range(1, args.rounds + 1):
            off = run(args, [])
            on = run(args, emitter)
            per_cpu_off = field(off, "closed", "metrics_per_server_cpu_s")
            per_cpu_on = field(on, "closed", "metrics_per_server_cpu_s")
            rate_off = field(off, "closed", "metrics_per_s")
            rate_on = field(on, "closed", "metrics_per_s")
            sent = field(on, "closed", "envelopes_sent_per_s")
            print(f"ROUND {round_number} closed loop: metrics/s off={rate_off:.0f} "
                  f"on={rate_on:.0f} ({rate_on / rate_off:.2f}), per server CPU-second "
                  f"off={per_cpu_off:.0f} on={per_cpu_on:.0f} ({per_cpu_on / per_cpu_off:.2f}), "
                  f"envelopes sent/s={sent:.0f}", flush=True)
            cpu_off = field(off, "open", "server_cpu_s")
            cpu_on = field(on, "open", "server_cpu_s")
            print(f"ROUND {round_number} open loop at {field(off, 'open', 'metrics_per_s'):.0f} "
                  f"metrics/s: server CPU-seconds off={cpu_off:.2f} on={cpu_on:.2f} "
                  f"({cpu_on / cpu_off:.2f}), p99 off={field(off, 'open', 'p99_ms'):.2f} ms "
                  f"on={field(on, 'open', 'p99_ms'):.2f} ms", flush=True)
    finally:
        agent.stop()
        certs.close()


if __name__ == "__main__":
    main()
