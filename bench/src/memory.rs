//! The process's resident memory, from `/proc/self/status` (Linux): what a
//! streaming benchmark reports as its peak.

/// Peak resident set size so far (`VmHWM`), in KiB; `None` off Linux.
pub fn peak_rss_kib() -> Option<u64> {
    status_field("VmHWM:")
}

/// Resident set size now (`VmRSS`), in KiB; `None` off Linux.
pub fn rss_kib() -> Option<u64> {
    status_field("VmRSS:")
}

fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_field(&status, name)
}

fn parse_field(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_in_kib() {
        let status = "Name:\tx\nVmHWM:\t   20480 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(parse_field(status, "VmHWM:"), Some(20480));
        assert_eq!(parse_field(status, "VmRSS:"), Some(1024));
        assert_eq!(parse_field(status, "VmSwap:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_peak() {
        let peak = peak_rss_kib().unwrap_or(0);
        assert!(peak > 0 && peak >= rss_kib().unwrap_or(u64::MAX).min(peak));
    }
}
