//! What this process has used: CPU time and resident memory, as the kernel counts them.

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
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = clock_ticks_per_second()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks as f64,
    ))
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
