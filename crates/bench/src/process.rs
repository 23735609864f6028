//! What processes have used (CPU time, resident memory, as the kernel counts them), and whether
//! this one runs as root.

use std::time::Duration;

/// CPU time of this process so far (user + system, every thread).
pub(crate) fn cpu_time() -> Duration {
    let (user, system) = cpu_times();
    user + system
}

/// CPU time of this process so far, in user space and in the kernel (every thread).
#[allow(unsafe_code)] // the one system call the standard library does not wrap
pub(crate) fn cpu_times() -> (Duration, Duration) {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    (
        Duration::from_micros(micros(usage.ru_utime)),
        Duration::from_micros(micros(usage.ru_stime)),
    )
}

/// A `kB` field of `/proc/self/status` (`VmRSS:`, `VmHWM:`); `None` off Linux.
pub(crate) fn status_kib(field: &str) -> Option<u64> {
    kib_field(&std::fs::read_to_string("/proc/self/status").ok()?, field)
}

/// CPU time of process `pid` so far (user + system, every thread), from `/proc/PID/stat`;
/// `None` off Linux or once it is gone.
pub(crate) fn cpu_time_of(pid: u32) -> Option<Duration> {
    let fields = stat_of(pid)?;
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    ticks_to_time(fields.get(11..13)?)
}

/// CPU time of process `pid` and of its children (user + system): its own, that of the
/// children it has waited for, and that of the children alive now, from `/proc`; `None` off
/// Linux or once it is gone. A server that forks a process per connection (PostgreSQL) is
/// counted whole.
pub(crate) fn tree_cpu_time_of(pid: u32) -> Option<Duration> {
    let fields = stat_of(pid)?;
    // utime, stime, cutime and cstime: fields 14 to 17 of the line, 12 to 15 after the name.
    let mut total = ticks_to_time(fields.get(11..15)?)?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A child may end between the listing and the read: it is then counted by its parent.
        let Some(fields) = stat_of(child) else {
            continue;
        };
        // The parent's ID is field 4 of the line, 2 after the name.
        if fields.get(1).and_then(|ppid| ppid.parse::<u32>().ok()) == Some(pid) {
            total += fields
                .get(11..13)
                .and_then(ticks_to_time)
                .unwrap_or_default();
        }
    }
    Some(total)
}

/// The fields of `/proc/PID/stat` after the command's name (which may hold spaces and
/// parentheses: the fields start after the last ')').
fn stat_of(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.get(stat.rfind(')')? + 1..)?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

/// The sum of `/proc` fields counted in clock ticks, as a duration.
fn ticks_to_time(fields: &[String]) -> Option<Duration> {
    let mut ticks = 0u64;
    for field in fields {
        ticks += field.parse::<u64>().ok()?;
    }
    let per_second = clock_ticks_per_second()?;
    Some(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

#[allow(unsafe_code)] // sysconf has no wrapper in the standard library
fn clock_ticks_per_second() -> Option<u64> {
    // SAFETY: sysconf reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|ticks| *ticks > 0)
}

/// A `kB` field of `/proc/PID/status` of another process; `None` off Linux or once it is gone.
pub(crate) fn status_kib_of(pid: u32, field: &str) -> Option<u64> {
    kib_field(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        field,
    )
}

fn kib_field(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

/// Whether this process runs as root.
#[allow(unsafe_code)] // geteuid has no failure and no arguments
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid only returns a number.
    unsafe { libc::geteuid() == 0 }
}
