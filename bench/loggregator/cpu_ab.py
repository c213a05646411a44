"""The emitter's CPU cost before and after a change, in one session: runs two builds'
push_load_driver (--base and --driver, e.g. a `git worktree add --detach` of the base commit
built with the release preset) alternately in open loop only (--open-only: the same pushes
every run, every envelope sent), each without and with --loggregator against one grpc-go agent
stand-in, and prints the server thread's CPU-seconds off, on and on - off per round. CPU time
swings with the machine's load (instructions.py is the stable measure); alternating the builds
within each round lets a change of load hit both alike. From the source tree after the release
build:

    /usr/bin/python3 bench/loggregator/cpu_ab.py --base ../wt-base/build/bench/push_load/push_load_driver
        [--rounds 4] [--rate 300] [--seconds 10] [--threads 1]
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "integration", "support"))
from loggregator_peers import BUILD_DIR, Agent, Certificates  # noqa: E402

DRIVER = os.path.join(BUILD_DIR, "bench", "push_load", "push_load_driver")


def run(args, driver, extra):
    command = [driver, "--open-only", "--rate", str(args.rate), "--seconds", str(args.seconds),
               "--threads", str(args.threads)] + extra
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.seconds * 4 + 60)
    if done.returncode != 0:
        print(done.stdout + done.stderr)
        raise SystemExit(f"{driver} failed ({done.returncode})")
    lines = done.stdout.splitlines()
    opened = next(line for line in lines if line.startswith("RESULT phase=open "))
    fields = dict(item.split("=") for item in opened.split()[1:])
    sent = next((line for line in lines if line.startswith("RESULT phase=open loggregator")), "")
    sent_fields = dict(item.split("=") for item in sent.split()[2:]) if sent else {}
    return float(fields["server_cpu_s"]), sent_fields


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="the base build's push_load_driver")
    parser.add_argument("--driver", default=DRIVER)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--rate", type=float, default=300, help="requests/s (x100 metrics)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    certs = Certificates()
    agent = Agent(certs, record=False)
    emitter = ["--loggregator", f"127.0.0.1:{agent.port}", "--ca", certs.ca, "--cert",
               certs.client_cert, "--key", certs.client_key]
    try:
        for round_number in range(1, args.rounds + 1):
            for name, driver in (("base", args.base), ("new", args.driver)):
                off, _ = run(args, driver, [])
                on, sent = run(args, driver, emitter)
                with open("/proc/loadavg") as f:
                    load = f.read().split()[0]
                print(f"ROUND {round_number} {name} load={load}: server CPU-seconds off={off:.2f} "
                      f"on={on:.2f} on-off={on - off:.2f} "
                      f"envelopes_sent={sent.get('envelopes_sent', '?')} "
                      f"dropped={sent.get('envelopes_dropped', '?')}", flush=True)
    finally:
        agent.stop()
        certs.close()


if __name__ == "__main__":
    main()
