#!/usr/bin/env python3
"""Run each client against a fresh simulator process and print one comparison table.

Called by run.sh once everything is installed and built; standard library only. For every
repetition, scheme, protocol and client it writes fresh seed payments, starts
`instamed-soap serve` on a free loopback port, runs the client (which voids every seeded payment
sequentially over one keep-alive connection and prints JSON lines), stops the simulator with
SIGINT, and keeps the JSON lines. The table shows the median of the repetitions.
"""
import argparse
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import time

ACCOUNT_ID = "demo@instamed.test"
PASSWORD = "demo-password"
OUTLET = ("123123123", "123", "123")
OURS = "instamed-soap"
CLIENT_ORDER = ["instamed-soap", "raw-hyper", "gsoap", "zeep"]
METRICS = ["calls_per_s", "cpu_ms_per_call", "p50_ms", "p99_ms"]


def log(message):
    print(message, file=sys.stderr, flush=True)


class Simulator:
    """`instamed-soap serve` in a process of its own, seeded with `count` captured payments."""

    def __init__(self, binary, run_dir, count, plain_http):
        self.seeds = os.path.join(run_dir, "seeds.csv")
        self.ids = os.path.join(run_dir, "ids.txt")
        payments = [os.urandom(16).hex().upper() for _ in range(count)]
        with open(self.seeds, "w", encoding="ascii") as seeds, open(self.ids, "w", encoding="ascii") as ids:
            seeds.write("# transaction_id,merchant_id,store_id,terminal_id,amount\n")
            for payment in payments:
                seeds.write("%s,%s,%s,%s,1.00\n" % ((payment,) + OUTLET))
                ids.write(payment + "\n")
        command = [binary, "serve", "--listen", "127.0.0.1:0", "--seed-file", self.seeds,
                   "--ca-out", os.path.join(run_dir, "ca.pem")]
        if plain_http:
            command.append("--plain-http")
        self.log_path = os.path.join(run_dir, "simulator.log")
        self.stderr = open(self.log_path, "w")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.stderr)
        self.endpoint, self.ca = None, None
        # Read the banner with os.read, not readline: a buffered reader could hold the last lines
        # while select() waits for more.
        banner, deadline = b"", time.monotonic() + 60
        while b"\nCtrl-C" not in b"\n" + banner:
            remaining = deadline - time.monotonic()
            ready = remaining > 0 and select.select([self.process.stdout], [], [], remaining)[0]
            chunk = os.read(self.process.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                self.stop()
                raise RuntimeError("the simulator did not start (see %s)" % self.log_path)
            banner += chunk
        for line in banner.decode().splitlines():
            key, _, value = line.partition(":")
            if key == "endpoint":
                self.endpoint = value.strip()
            elif key == "ca-cert":
                self.ca = os.path.abspath(os.path.join(run_dir, value.strip()))
        if not self.endpoint:
            self.stop()
            raise RuntimeError("the simulator printed no endpoint")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.stderr.close()


def client_command(args, client, protocol, simulator, calls):
    version = "1.2" if protocol == "soap12" else "1.1"
    ca = ["--ca-file", simulator.ca] if simulator.endpoint.startswith("https:") else []
    if client == "gsoap":
        return [args.gsoap_client, "--endpoint", simulator.endpoint, "--soap", version, "--ids", simulator.ids,
                "--calls", str(calls)] + ca
    if client == "zeep":
        return [args.python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "zeep_void.py"),
                "--wsdl", args.wsdl, "--endpoint", simulator.endpoint, "--soap", version, "--ids", simulator.ids,
                "--calls", str(calls)] + ca
    if client == OURS:
        # The seed file holds 2N payments: ours voids the first N, the raw hyper client the next N.
        # One round: this script repeats runs itself (--reps) and takes the median.
        command = [args.binary, "bench", "--endpoint", simulator.endpoint, "--protocol", protocol,
                   "--voids", str(calls), "--rounds", "1", "--seed-file", simulator.seeds, "--json"]
        if simulator.ca and simulator.endpoint.startswith("https:"):
            command += ["--ca-cert", simulator.ca]
        return command
    raise SystemExit("unknown client %s" % client)


def run_once(args, client, protocol, scheme, rep, index):
    run_dir = os.path.join(args.work, "runs", "%02d-%s-%s-%s-%d" % (index, scheme, protocol, client, rep))
    os.makedirs(run_dir, exist_ok=True)
    seeded = 2 * args.voids if client == OURS else args.voids
    simulator = Simulator(args.binary, run_dir, seeded, scheme == "http")
    try:
        command = client_command(args, client, protocol, simulator, args.voids)
        environment = dict(os.environ, INSTAMED_ACCOUNT_ID=ACCOUNT_ID, INSTAMED_PASSWORD=PASSWORD)
        started = time.monotonic()
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            log("  %s %s %s: no answer within %d s" % (client, protocol, scheme, args.timeout))
            return []
        elapsed = time.monotonic() - started
    finally:
        simulator.stop()
    with open(os.path.join(run_dir, "client.log"), "w") as file:
        file.write("$ %s\n%s\n--- stderr\n%s" % (" ".join(command), done.stdout, done.stderr))
    rows = []
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            row.update(rep=rep, process_s=round(elapsed, 3))
            rows.append(row)
    if not rows:
        log("  %s %s %s failed (exit %d): %s" % (client, protocol, scheme, done.returncode,
                                                  done.stderr.strip()[-1500:] or "no output"))
    for row in rows:
        if row.get("failures"):
            log("  %s %s %s: %d of %d voids failed (%s)" % (row["client"], protocol, scheme, row["failures"],
                                                          row["calls"], done.stderr.strip()[-500:]))
    return rows


def summarize(rows, args):
    groups = {}
    for row in rows:
        groups.setdefault((row["scheme"], row["protocol"], row["client"]), []).append(row)
    table = []
    for scheme in args.schemes:
        for protocol in args.protocols:
            ours = groups.get((scheme, protocol, OURS))
            ours_cpu = statistics.median(r["cpu_ms_per_call"] for r in ours) if ours else None
            names = sorted({c for (s, p, c) in groups if s == scheme and p == protocol},
                           key=lambda c: (CLIENT_ORDER.index(c) if c in CLIENT_ORDER else 99, c))
            for client in names:
                runs = groups[(scheme, protocol, client)]
                line = {"client": client, "protocol": protocol, "scheme": scheme, "runs": len(runs)}
                for metric in METRICS:
                    line[metric] = statistics.median(r[metric] for r in runs)
                line["failures"] = sum(r.get("failures", 0) for r in runs)
                connections = [r["connections"] for r in runs if "connections" in r]
                line["connections"] = max(connections) if connections else None
                line["cpu_vs_ours"] = line["cpu_ms_per_call"] / ours_cpu if ours_cpu else None
                table.append(line)
    return table


def ours_version(binary, repo):
    def output(command):
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return ""
    commit = output(["git", "-C", repo, "describe", "--always", "--dirty"])
    return "%s%s" % (output([binary, "--version"]) or binary, " (%s)" % commit if commit else "")


def print_table(table, args, load_before):
    print()
    print("DoCreditCardSecondaryVoid, %d sequential voids per client over one keep-alive connection; "
          "median of %d run(s); simulator in its own process, fresh per run" % (args.voids, args.reps))
    print("machine: %d CPU(s), load average before the runs %s; client CPU = getrusage(RUSAGE_SELF) "
          "user+sys around the timed loop" % (os.cpu_count() or 0, load_before))
    header = ["client", "protocol", "scheme", "calls/s", "CPU ms/call", "p50 ms", "p99 ms",
              "CPU vs ours", "failures", "conns"]
    lines = []
    for t in table:
        lines.append([t["client"], t["protocol"], t["scheme"], "%.0f" % t["calls_per_s"],
                      "%.4f" % t["cpu_ms_per_call"], "%.3f" % t["p50_ms"], "%.3f" % t["p99_ms"],
                      "%.2fx" % t["cpu_vs_ours"] if t["cpu_vs_ours"] is not None else "n/a",
                      str(t["failures"]), "-" if t["connections"] is None else str(t["connections"])])
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(header)]
    right = set(range(3, len(header)))

    def fmt(cells):
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    print(fmt(header))
    print("|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2))
                         for i, w in enumerate(widths)) + "|")
    for line in lines:
        print(fmt(line))
    versions = {}
    for row in args.all_rows:
        if row.get("version"):
            versions[row["client"]] = row["version"]
    if any(row["client"] == OURS for row in args.all_rows):
        versions[OURS] = ours_version(args.binary, args.repo)
    for client, version in sorted(versions.items()):
        print("%s: %s" % (client, version))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="target/release/instamed-soap")
    parser.add_argument("--repo", required=True, help="the repository, for `git describe`")
    parser.add_argument("--wsdl", required=True)
    parser.add_argument("--python", required=True, help="the venv's python, with zeep")
    parser.add_argument("--gsoap-client", required=True)
    parser.add_argument("--work", required=True, help="scratch directory")
    parser.add_argument("--voids", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--protocols", default="soap11,soap12")
    parser.add_argument("--schemes", default="https")
    parser.add_argument("--clients", default="instamed-soap,gsoap,zeep")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one client run may take")
    parser.add_argument("--skip-ours", action="store_true", help="the binary has no `bench` command")
    args = parser.parse_args()
    args.protocols = [p for p in args.protocols.split(",") if p]
    args.schemes = [s for s in args.schemes.split(",") if s]
    clients = [c for c in args.clients.split(",") if c]
    if args.skip_ours and OURS in clients:
        clients.remove(OURS)
    if args.voids < 1 or args.reps < 1:
        raise SystemExit("--voids and --reps must be positive")
    for protocol in args.protocols:
        if protocol not in ("soap11", "soap12"):
            raise SystemExit("unknown protocol %s (soap11, soap12)" % protocol)
    for scheme in args.schemes:
        if scheme not in ("https", "http"):
            raise SystemExit("unknown scheme %s (https, http)" % scheme)

    results = os.path.join(args.work, "results.jsonl")
    load_before = " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "?"
    args.all_rows = []
    index = 0
    with open(results, "w") as out:
        for rep in range(args.reps):
            # Rotate the clients' order each repetition so that no client always runs first.
            order = clients[rep % len(clients):] + clients[:rep % len(clients)]
            for scheme in args.schemes:
                for protocol in args.protocols:
                    for client in order:
                        index += 1
                        log("rep %d/%d: %s %s %s" % (rep + 1, args.reps, client, protocol, scheme))
                        try:
                            rows = run_once(args, client, protocol, scheme, rep, index)
                        except (RuntimeError, OSError) as error:
                            log("  %s %s %s: %s" % (client, protocol, scheme, error))
                            rows = []
                        for row in rows:
                            args.all_rows.append(row)
                            out.write(json.dumps(row, sort_keys=True) + "\n")
                            out.flush()
    print_table(summarize(args.all_rows, args), args, load_before)
    print("raw JSON lines: %s" % results)
    wanted = {(s, p, c) for s in args.schemes for p in args.protocols for c in clients}
    got = {(r["scheme"], r["protocol"], r["client"]) for r in args.all_rows}
    missing = sorted(wanted - got)
    if missing:
        print("no figures for: %s" % ", ".join("/".join(m[::-1]) for m in missing))
    failed = any(r.get("failures") for r in args.all_rows)
    return 1 if missing or failed else 0


if __name__ == "__main__":
    sys.exit(main())
