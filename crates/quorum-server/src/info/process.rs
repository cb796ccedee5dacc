//! What INFO reports about the process and the machine, read from Linux's `/proc` (quorum
//! forbids `unsafe`, so `getrusage` and `sysconf` are out of reach). Elsewhere every reading is
//! `None` and INFO prints zeros.

/// Clock ticks per second in `/proc/<pid>/stat` (`USER_HZ`): 100 on every Linux ABI.
const USER_HZ: f64 = 100.0;

/// CPU seconds spent by the process and by its waited-for children.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct CpuSeconds {
    /// System time of the process.
    pub sys: f64,
    /// User time of the process.
    pub user: f64,
    /// System time of its children.
    pub sys_children: f64,
    /// User time of its children.
    pub user_children: f64,
}

/// The process's CPU time, from `/proc/self/stat`.
pub fn cpu_seconds() -> Option<CpuSeconds> {
    parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

fn parse_stat(stat: &str) -> Option<CpuSeconds> {
    // The command name (field 2) may hold spaces and parentheses: fields resume after the
    // last ')'. utime, stime, cutime, cstime are fields 14 to 17.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> Option<f64> { Some(fields.get(i)?.parse::<f64>().ok()? / USER_HZ) };
    Some(CpuSeconds {
        user: tick(11)?,
        sys: tick(12)?,
        user_children: tick(13)?,
        sys_children: tick(14)?,
    })
}

/// Resident set size in bytes, from `/proc/self/status`.
pub fn rss_bytes() -> Option<u64> {
    kib_field(
        &std::fs::read_to_string("/proc/self/status").ok()?,
        "VmRSS:",
    )
}

/// Physical memory of the machine in bytes, from `/proc/meminfo`.
pub fn system_memory_bytes() -> Option<u64> {
    kib_field(&std::fs::read_to_string("/proc/meminfo").ok()?, "MemTotal:")
}

/// `Linux 6.1.0 x86_64`, as Redis prints `uname -srm`.
pub fn os_name() -> String {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_string())
    };
    match (
        read("/proc/sys/kernel/ostype"),
        read("/proc/sys/kernel/osrelease"),
    ) {
        (Some(kind), Some(release)) => format!("{kind} {release} {}", std::env::consts::ARCH),
        _ => format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    }
}

/// A `Name:   123 kB` line's value, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

/// Redis's `bytesToHuman`: `1015.52K`, `6.35M`, `0B`.
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 10, "K"),
        (1 << 20, "M"),
        (1 << 30, "G"),
        (1 << 40, "T"),
        (1 << 50, "P"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, (scale, unit)) in UNITS.iter().enumerate() {
        let next = UNITS.get(i + 1).map_or(1 << 60, |(s, _)| *s);
        if n < next {
            return format!("{:.2}{unit}", n as f64 / *scale as f64);
        }
    }
    format!("{n}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_found_after_the_command_name() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 125 3 4 20 0 1 0";
        assert_eq!(
            parse_stat(stat),
            Some(CpuSeconds {
                user: 2.5,
                sys: 1.25,
                user_children: 0.03,
                sys_children: 0.04,
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn bytes_print_as_redis_prints_them() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1_039_896), "1015.52K");
        assert_eq!(bytes_to_human(6_660_096), "6.35M");
        assert_eq!(bytes_to_human(25_276_194_816), "23.54G");
    }

    #[test]
    fn linux_readings_are_present() {
        if cfg!(target_os = "linux") {
            assert!(cpu_seconds().is_some());
            assert!(rss_bytes().unwrap() > 0);
            assert!(system_memory_bytes().unwrap() > 0);
            assert!(os_name().starts_with("Linux "));
        }
    }
}
