//! What a run cost this process: CPU time and peak resident memory.

use serde::Serialize;

/// CPU time and peak resident memory of this process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ResourceUse {
    /// User CPU seconds.
    pub cpu_user_secs: f64,
    /// System CPU seconds.
    pub cpu_system_secs: f64,
    /// Peak resident set size, MiB.
    pub peak_rss_mib: f64,
}

impl ResourceUse {
    /// Reads `getrusage(RUSAGE_SELF)`; zeros where it is not available.
    pub fn now() -> Self {
        #[cfg(unix)]
        {
            // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
                let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
                // Linux reports ru_maxrss in KiB, macOS in bytes.
                let kib = if cfg!(target_os = "macos") {
                    usage.ru_maxrss as f64 / 1024.0
                } else {
                    usage.ru_maxrss as f64
                };
                return Self {
                    cpu_user_secs: secs(usage.ru_utime),
                    cpu_system_secs: secs(usage.ru_stime),
                    peak_rss_mib: kib / 1024.0,
                };
            }
        }
        Self::default()
    }
}

/// `CPU 1.2s user + 0.3s system, peak RSS 80 MiB`, as every report says it.
impl std::fmt::Display for ResourceUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CPU {:.1}s user + {:.1}s system, peak RSS {:.0} MiB",
            self.cpu_user_secs, self.cpu_system_secs, self.peak_rss_mib
        )
    }
}
