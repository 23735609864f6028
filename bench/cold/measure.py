#!/usr/bin/env python3
"""One void from a cold process: wall time and CPU per process, for each kind of process.

Called by run.sh (which says what it measures and how to call it); standard library only.

It writes fresh captured payments to a seed file, starts `instamed-soap serve` on a free
loopback port (HTTPS, its CA written to the scratch directory), and then runs ROUNDS rounds.
In each round every mode runs one process that voids a payment of its own, never voided
before; the order of the modes turns by one place each round, so that none always goes first.
Each process is started with posix_spawn and reaped with wait4, which gives its own rusage:
CPU is that process's user + system time (its threads included), wall is from just before the
spawn to just after the reap. The simulator runs in a process of its own; its CPU is not
counted.

Modes:
  before        the BEFORE binary, `void` (no ledger)
  after-disk    the AFTER binary, `void --ledger FILE`, FILE on the disk (kept across runs)
  after-tmpfs   the AFTER binary, `void --ledger FILE`, FILE on a tmpfs (kept across runs)
  after-new     the AFTER binary, `void --ledger FILE`, a new FILE on the disk every run
  curl          curl POSTing the same SOAP 1.1 envelope with the same CA and credentials

Every answer is checked: exit 0 and a "voided" sentence for ours, HTTP 200 with
TransactionStatus C and PrimaryTransactionStatus V for curl. A run that fails stops the bench.
"""
import argparse
import json
import os
import select
import signal
import statistics
import shutil
import subprocess
import sys
import time

ACCOUNT_ID = "demo@instamed.test"
PASSWORD = "demo-password"
MERCHANT, STORE, TERMINAL = "123123123", "123", "123"
ACTION = "http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid"
ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
    '<soap:Body><DoCreditCardSecondaryVoid xmlns="http://online.instamed.com/TransactionServices/Payment/v1r3/">'
    "<transaction><MerchantID>{m}</MerchantID><StoreID>{s}</StoreID><TerminalID>{t}</TerminalID>"
    "<PrimaryTransactionID>{id}</PrimaryTransactionID><PrimaryCardPresentStatus>PresentManualKey"
    "</PrimaryCardPresentStatus></transaction></DoCreditCardSecondaryVoid></soap:Body></soap:Envelope>"
)
MODES = ["before", "after-disk", "after-tmpfs", "after-new", "curl"]
WARMUP = 3  # unmeasured runs of each mode first: page cache, the ledgers' files created


def disk_counters():
    """Bytes written and flush requests so far, summed over the whole disks in /sys/block."""
    disks = set(os.listdir("/sys/block")) if os.path.isdir("/sys/block") else set()
    written = flushes = 0
    with open("/proc/diskstats") as stats:
        for line in stats:
            fields = line.split()
            if fields[2] in disks and not fields[2].startswith(("loop", "ram", "zram")):
                written += int(fields[9]) * 512
                flushes += int(fields[18]) if len(fields) > 18 else 0
    return written, flushes


def log(message):
    print(message, file=sys.stderr, flush=True)


def fs_type(path):
    """The file system type of the mount holding `path`, from /proc/self/mounts."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            point = fields[1].replace("\\040", " ")
            if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
                best, kind = point, fields[2]
    return kind


class Simulator:
    """`instamed-soap serve` on a free loopback port, seeded with `count` captured payments."""

    def __init__(self, binary, scratch, count):
        self.payments = [os.urandom(16).hex().upper() for _ in range(count)]
        seeds = os.path.join(scratch, "seeds.csv")
        with open(seeds, "w", encoding="ascii") as out:
            out.write("# transaction_id,merchant_id,store_id,terminal_id,amount\n")
            for payment in self.payments:
                out.write("%s,%s,%s,%s,1.00\n" % (payment, MERCHANT, STORE, TERMINAL))
        self.ca = os.path.join(scratch, "ca.pem")
        self.log_path = os.path.join(scratch, "simulator.log")
        self.stderr = open(self.log_path, "w")
        command = [binary, "serve", "--listen", "127.0.0.1:0", "--seed-file", seeds,
                   "--ca-out", self.ca, "-qq"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.stderr,
                                        stdin=subprocess.DEVNULL)
        banner, deadline = b"", time.monotonic() + 60
        while b"\nCtrl-C" not in b"\n" + banner:
            remaining = deadline - time.monotonic()
            ready = remaining > 0 and select.select([self.process.stdout], [], [], remaining)[0]
            chunk = os.read(self.process.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                self.stop()
                raise RuntimeError("the simulator did not start (see %s)" % self.log_path)
            banner += chunk
        self.endpoint = None
        for line in banner.decode().splitlines():
            key, _, value = line.partition(":")
            if key == "endpoint":
                # 127.0.0.1 (in the certificate) rather than localhost: no resolver in the figures.
                self.endpoint = value.strip().replace("://localhost:", "://127.0.0.1:", 1)
        if not self.endpoint or not self.endpoint.startswith("https://127.0.0.1:"):
            self.stop()
            raise RuntimeError("the simulator printed no loopback HTTPS endpoint")

    def take(self):
        return self.payments.pop()

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


class Runner:
    def __init__(self, args, sim, scratch, home):
        self.args, self.sim, self.scratch = args, sim, scratch
        self.out = os.path.join(scratch, "stdout")
        self.err = os.path.join(scratch, "stderr")
        self.curl_config = os.path.join(scratch, "curl.conf")
        with open(os.open(self.curl_config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as conf:
            conf.write('user = "%s:%s"\n' % (ACCOUNT_ID, PASSWORD))
        # A clean environment: no proxy, no INSTAMED_LEDGER, a HOME and state directory of the bench's.
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "XDG_STATE_HOME": os.path.join(home, "state"),
            "LANG": "C.UTF-8",
            "INSTAMED_ACCOUNT_ID": ACCOUNT_ID,
            "INSTAMED_PASSWORD": PASSWORD,
        }
        self.curl = shutil.which("curl")
        self.new_count = 0

    def command(self, mode, payment):
        if mode == "curl":
            body = ENVELOPE.format(m=MERCHANT, s=STORE, t=TERMINAL, id=payment)
            return [self.curl, "-q", "-sS", "--http1.1", "--cacert", self.sim.ca, "-K", self.curl_config,
                    "-w", "\\nHTTP %{http_code}\\n",
                    "-H", "Content-Type: text/xml; charset=utf-8", "-H", 'SOAPAction: "%s"' % ACTION,
                    "--data-binary", body, self.sim.endpoint]
        binary = self.args.before if mode == "before" else self.args.after
        command = [binary, "void", "--endpoint", self.sim.endpoint, "--ca-cert", self.sim.ca,
                   "--merchant-id", MERCHANT, "--store-id", STORE, "--terminal-id", TERMINAL,
                   "--transaction-id", payment]
        if mode == "after-disk":
            command += ["--ledger", self.args.disk_ledger]
        elif mode == "after-tmpfs":
            command += ["--ledger", self.args.tmpfs_ledger]
        elif mode == "after-new":
            self.new_count += 1
            command += ["--ledger", os.path.join(self.args.new_ledger_dir, "ledger-%d.db" % self.new_count)]
        return command

    def spawn(self, command):
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, self.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            (os.POSIX_SPAWN_OPEN, 2, self.err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        ]
        start = time.perf_counter()
        pid = os.posix_spawn(command[0], command, self.env, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        return os.waitstatus_to_exitcode(status), wall, usage

    def check(self, mode, payment, code):
        with open(self.out, encoding="utf-8", errors="replace") as f:
            out = f.read()
        if mode == "curl":
            ok = (code == 0 and out.rstrip().endswith("HTTP 200") and "<TransactionStatus>C<" in out
                  and "<PrimaryTransactionStatus>V<" in out and payment in out)
        else:
            ok = code == 0 and out.startswith("voided " + payment)
        if not ok:
            with open(self.err, encoding="utf-8", errors="replace") as f:
                err = f.read()
            raise RuntimeError("%s: exit %d on %s\nstdout: %s\nstderr: %s" % (mode, code, payment, out[:600], err[:600]))

    def run(self, mode):
        payment = self.sim.take()
        command = self.command(mode, payment)
        code, wall, usage = self.spawn(command)
        self.check(mode, payment, code)
        if mode == "after-new":
            for suffix in ("", "-wal", "-shm", "-journal"):
                path = command[-1] + suffix
                if os.path.exists(path):
                    os.unlink(path)
        return {"wall_ms": wall * 1e3, "user_ms": usage.ru_utime * 1e3, "sys_ms": usage.ru_stime * 1e3,
                "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1e3,
                "nvcsw": usage.ru_nvcsw, "nivcsw": usage.ru_nivcsw}

    def syscalls(self, mode, voids):
        """fsync-family calls per void of `mode`, counted by strace on `voids` extra processes."""
        strace = shutil.which("strace")
        if not strace:
            return None
        counts = []
        for _ in range(voids):
            payment = self.sim.take()
            trace = os.path.join(self.scratch, "strace.txt")
            command = [strace, "-f", "-qq", "-T", "-o", trace, "-e", "trace=fsync,fdatasync,sync_file_range,syncfs"] \
                + self.command(mode, payment)
            code, _, _ = self.spawn(command)
            self.check(mode, payment, code)
            with open(trace) as f:
                lines = [line for line in f if "sync" in line]
            calls = [line for line in lines if "resumed" not in line]
            # -T puts each call's time at the end of the line that shows its result.
            spent = sum(float(line.rsplit("<", 1)[1].rstrip(">\n")) for line in lines
                        if line.rstrip().endswith(">") and "unfinished" not in line)
            counts.append((len(calls), spent * 1e3))
            if mode == "after-new":
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(command[-1] + suffix):
                        os.unlink(command[-1] + suffix)
        return counts


def pct(values, q):
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="the BEFORE binary (no ledger); left out when not given")
    parser.add_argument("--after", required=True, help="the AFTER binary; also runs the simulator")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--scratch", required=True, help="private scratch directory")
    parser.add_argument("--disk-ledger", required=True)
    parser.add_argument("--new-ledger-dir", required=True)
    parser.add_argument("--tmpfs-ledger", required=True)
    parser.add_argument("--strace", type=int, default=10, help="voids per AFTER mode traced for fsync calls (0: none)")
    parser.add_argument("--json", help="write every run's figures here")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 5000:
        parser.error("--rounds must be from 1 to 5000")
    modes = [m for m in args.modes.split(",") if m]
    for mode in modes:
        if mode not in MODES:
            parser.error("unknown mode %s" % mode)
    if "before" in modes and not args.before:
        modes.remove("before")
    if "curl" in modes and not shutil.which("curl"):
        log("curl is not installed: left out")
        modes.remove("curl")

    for label, path in (("disk ledger", args.disk_ledger), ("new ledgers", args.new_ledger_dir),
                        ("tmpfs ledger", args.tmpfs_ledger)):
        log("%-12s %s (%s)" % (label, path, fs_type(os.path.dirname(path) if label != "new ledgers" else path)))
    if fs_type(os.path.dirname(args.tmpfs_ledger)) != "tmpfs":
        log("warning: the tmpfs ledger is not on a tmpfs")
    for path in (args.disk_ledger, os.path.join(args.new_ledger_dir, "x")):
        if fs_type(os.path.dirname(path)) in ("tmpfs", "ramfs"):
            log("warning: %s is in memory, not on a disk" % path)

    home = os.path.join(args.scratch, "home")
    os.makedirs(home, mode=0o700, exist_ok=True)
    traced = args.strace * sum(1 for m in modes if m.startswith("after") or m == "before")
    count = (args.rounds + WARMUP) * len(modes) + traced + 10
    sim = Simulator(args.after, args.scratch, count)
    try:
        runner = Runner(args, sim, args.scratch, home)
        log("simulator: %s, %d payments; modes: %s; %d rounds" % (sim.endpoint, count, ", ".join(modes), args.rounds))
        for _ in range(WARMUP):
            for mode in modes:
                runner.run(mode)
        results = {mode: [] for mode in modes}
        disk_before = disk_counters()
        started = time.monotonic()
        for round_no in range(args.rounds):
            turn = round_no % len(modes)
            for mode in modes[turn:] + modes[:turn]:
                results[mode].append(runner.run(mode))
            if (round_no + 1) % 50 == 0:
                log("  %d rounds, %.0f s" % (round_no + 1, time.monotonic() - started))
        elapsed = time.monotonic() - started
        disk_after = disk_counters()
        fsyncs = {}
        if args.strace > 0:
            for mode in modes:
                if mode != "curl":
                    fsyncs[mode] = runner.syscalls(mode, args.strace)
    finally:
        sim.stop()

    load = open("/proc/loadavg").read().split()[:3]
    written = (disk_after[0] - disk_before[0]) / 2**20
    flushes = disk_after[1] - disk_before[1]
    # Every process on the machine writes to the same disks: their traffic sets the fsync latency.
    print("rounds %d in %.0f s, load average at the end %s; the machine's disks meanwhile, every process"
          " counted: %.1f MiB written, %d flush requests" % (args.rounds, elapsed, " ".join(load), written, flushes))
    print()
    # CPU is user + system together: for processes this short the kernel's split between the
    # two is sampled at ticks and says little, while their sum is the scheduler's exact count.
    print("| process | wall p50 ms | wall p90 ms | CPU p50 ms | CPU p90 ms | fsync calls a void (their time, strace) |")
    print("|---|--:|--:|--:|--:|--:|")
    summary = {}
    for mode in modes:
        rows = results[mode]
        s = {key: (statistics.median([r[key] for r in rows]), pct([r[key] for r in rows], 0.9))
             for key in ("wall_ms", "cpu_ms", "user_ms", "sys_ms")}
        summary[mode] = s
        f = fsyncs.get(mode)
        print("| %s | %.2f | %.2f | %.2f | %.2f | %s |" % (
            mode, s["wall_ms"][0], s["wall_ms"][1], s["cpu_ms"][0], s["cpu_ms"][1],
            "—" if not f else "%d (%.1f ms)" % (statistics.median(c for c, _ in f),
                                                statistics.median(t for _, t in f))))
    print()
    if "before" in summary:
        base = summary["before"]
        for mode in modes:
            if mode.startswith("after"):
                # Paired: the same round's BEFORE and AFTER ran next to each other.
                paired_wall = [a["wall_ms"] - b["wall_ms"] for a, b in zip(results[mode], results["before"])]
                paired_cpu = [a["cpu_ms"] - b["cpu_ms"] for a, b in zip(results[mode], results["before"])]
                print("%-12s − before: wall p50 %+.2f ms, p90 %+.2f ms; CPU p50 %+.2f ms, p90 %+.2f ms;"
                      " median of paired differences: wall %+.2f ms, CPU %+.2f ms" % (
                          mode, summary[mode]["wall_ms"][0] - base["wall_ms"][0],
                          summary[mode]["wall_ms"][1] - base["wall_ms"][1],
                          summary[mode]["cpu_ms"][0] - base["cpu_ms"][0],
                          summary[mode]["cpu_ms"][1] - base["cpu_ms"][1],
                          statistics.median(paired_wall), statistics.median(paired_cpu)))
    if "curl" in summary:
        c = summary["curl"]
        for mode in modes:
            if mode != "curl":
                print("%-12s / curl: wall %.2f, CPU %.2f (medians)" % (
                    mode, summary[mode]["wall_ms"][0] / c["wall_ms"][0], summary[mode]["cpu_ms"][0] / c["cpu_ms"][0]))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"rounds": args.rounds, "modes": modes, "load": load, "fsyncs": fsyncs,
                       "runs": results}, out)


if __name__ == "__main__":
    main()
