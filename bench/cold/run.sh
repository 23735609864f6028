#!/usr/bin/env bash
# One void from a cold process, TLS included: what the ledger adds to a single command.
#
# Starts `instamed-soap serve` (the AFTER binary) over HTTPS on 127.0.0.1 with fresh captured
# payments, then runs ROUNDS rounds. Each round starts one process of every mode, each voiding
# a payment of its own, the order turning by one place a round:
#
#   before        BEFORE binary, `instamed-soap void ...` (a build without the ledger)
#   after-disk    AFTER binary, `void --ledger FILE`, FILE on the disk, kept across runs
#   after-tmpfs   AFTER binary, `void --ledger FILE`, FILE on a tmpfs (/dev/shm): no disk flush
#   after-new     AFTER binary, `void --ledger FILE`, a new FILE on the disk each run (first use)
#   curl          curl POSTing the same SOAP 1.1 envelope, same CA and credentials (when installed)
#
# Per process: wall time (spawn to reap) and CPU (the process's own user + system time, from
# wait4's rusage). Prints medians and p90s, AFTER − BEFORE, ours / curl, and the fsync-family
# calls of a few more voids per mode traced with `strace -T` (when installed), with the time
# they took; those traced runs are not among the timed ones. Loopback only; the simulator's CPU
# is not counted. Credentials are the simulator's demo account, passed to our client in
# INSTAMED_ACCOUNT_ID / INSTAMED_PASSWORD and to curl in a private config file.
#
# usage: bench/cold/run.sh [--after BIN] [--before BIN] [--rounds N] [--modes LIST] [--strace K] [--dir DIR]
#   --after BIN    the binary with the ledger (default: target/release/instamed-soap)
#   --before BIN   a binary without it, e.g. built from 8e5b2da:
#                    git worktree add ../before 8e5b2da && (cd ../before && cargo build --release -p instamed-soap-cli)
#   --rounds N     rounds, 1 to 5000 (default 200)
#   --modes LIST   comma-separated subset of the modes above (default all)
#   --strace K     extra voids per mode traced for fsync calls and their time (default 10, 0: none)
#   --dir DIR      where the disk ledgers and the results go; must be on a disk, not a tmpfs
#                  (default target/bench-cold in the repository)
# Writes DIR/results.json (every run's figures) and DIR/results.md (the printed tables).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
after="${CARGO_TARGET_DIR:-$repo/target}/release/instamed-soap" before="" rounds=200
modes=before,after-disk,after-tmpfs,after-new,curl strace=10 dir="$repo/target/bench-cold"
while [ $# -gt 0 ]; do
  case $1 in
    --after) after=$2; shift 2 ;;
    --before) before=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --strace) strace=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case $rounds in ''|*[!0-9]*) echo "run.sh: --rounds takes a number" >&2; exit 2 ;; esac
case $strace in ''|*[!0-9]*) echo "run.sh: --strace takes a number" >&2; exit 2 ;; esac
[ -x "$after" ] || { echo "run.sh: no AFTER binary at $after (cargo build --release -p instamed-soap-cli)" >&2; exit 1; }
"$after" void --help | grep -q -- '--ledger' || { echo "run.sh: $after has no --ledger: not an AFTER build" >&2; exit 1; }
if [ -n "$before" ]; then
  [ -x "$before" ] || { echo "run.sh: no BEFORE binary at $before" >&2; exit 1; }
  if "$before" void --help | grep -q -- '--ledger'; then
    echo "run.sh: $before has --ledger: not a BEFORE build" >&2; exit 1
  fi
fi

existing=$dir
while [ ! -e "$existing" ]; do existing=$(dirname "$existing"); done
case $(stat -f -c %T "$existing") in
  tmpfs|ramfs) echo "run.sh: $dir is in memory; --dir must be on a disk" >&2; exit 1 ;;
esac
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ] || { echo "run.sh: no tmpfs at /dev/shm" >&2; exit 1; }

# Fresh ledgers each time the script runs; scratch (CA, seeds, outputs) in a private directory.
scratch=$(mktemp -d "$dir/scratch.XXXXXX")
shm=$(mktemp -d /dev/shm/instamed-cold.XXXXXX)
cleanup() { rm -rf "$scratch" "$shm"; }
trap cleanup EXIT
rm -rf "$dir/ledgers"
mkdir -p -m 700 "$dir/ledgers/new"

echo "== df of the ledgers' directories" >&2
df -hT "$dir/ledgers" "$shm" >&2

python3 "$here/measure.py" --after "$after" ${before:+--before "$before"} --rounds "$rounds" --modes "$modes" \
  --scratch "$scratch" --disk-ledger "$dir/ledgers/disk.db" --new-ledger-dir "$dir/ledgers/new" \
  --tmpfs-ledger "$shm/ledger.db" --strace "$strace" --json "$dir/results.json" | tee "$dir/results.md"
