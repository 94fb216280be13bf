// SPDX-License-Identifier: GPL-2.0
//! Pin and sid counters: the kernel's (/proc/vmstat) and vm_mvc's
//! (/sys/kernel/debug/vm_mvc/stats).  A test reads them before and after
//! and fails unless every page pinned was released and every sid it
//! it created deleted.

use std::fs;

/// vm_mvc's debugfs counters.
const STATS: &str = "/sys/kernel/debug/vm_mvc/stats";

/// The counters at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Counters {
    /// `nr_foll_pin_acquired` of /proc/vmstat: pages pinned with FOLL_PIN.
    pub foll_pin_acquired: u64,
    /// `nr_foll_pin_released`.
    pub foll_pin_released: u64,
    /// vm_mvc's `user_pages: pinned`.
    pub user_pages_pinned: u64,
    /// vm_mvc's `user_pages: ... live`.
    pub user_pages_live: u64,
    /// vm_mvc's `sids: ... live`.
    pub sids_live: u64,
    /// vm_mvc's `protzero_ptes_write_protected`.
    pub write_protected: u64,
}

/// The number after `key` in `text` (`key N` or `key: N`).
fn number_after(text: &str, key: &str) -> Result<u64, String> {
    let at = text.find(key).ok_or(format!("no '{key}'"))? + key.len();
    text[at..]
        .trim_start_matches(':')
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or(format!("no number after '{key}'"))
}

impl Counters {
    /// Reads the counters now.
    pub fn now() -> Result<Self, String> {
        // vmstat counters are per CPU with a slack; fold them first.
        fs::write("/proc/sys/vm/stat_refresh", "1").map_err(|e| format!("stat_refresh: {e}"))?;
        let vmstat = fs::read_to_string("/proc/vmstat").map_err(|e| format!("vmstat: {e}"))?;
        let stats = fs::read_to_string(STATS).map_err(|e| format!("{STATS}: {e}"))?;
        let line = |key: &str| -> Result<&str, String> {
            stats
                .lines()
                .find(|line| line.starts_with(key))
                .ok_or(format!("{STATS} has no '{key}' line"))
        };
        let user_pages = line("user_pages:")?;
        Ok(Self {
            foll_pin_acquired: number_after(&vmstat, "\nnr_foll_pin_acquired ")?,
            foll_pin_released: number_after(&vmstat, "\nnr_foll_pin_released ")?,
            user_pages_pinned: number_after(user_pages, "pinned ")?,
            user_pages_live: number_after(user_pages, "live ")?,
            sids_live: number_after(line("sids:")?, "live ")?,
            write_protected: number_after(&stats, "protzero_ptes_write_protected")?,
        })
    }

    /// vm_mvc's user pages pinned now, read without folding vmstat (for
    /// polling).
    pub fn user_pages_live() -> Result<u64, String> {
        let stats = fs::read_to_string(STATS).map_err(|e| format!("{STATS}: {e}"))?;
        let line = stats.lines().find(|line| line.starts_with("user_pages:"));
        number_after(line.ok_or("no user_pages line")?, "live ")
    }

    /// Pages vm_mvc pinned since `self`.
    pub fn pinned_since(&self) -> Result<u64, String> {
        Ok(Self::now()?.user_pages_pinned - self.user_pages_pinned)
    }

    /// Fails unless, since `self`, the kernel released as many pins as it
    /// acquired, vm_mvc holds no pin, and as many sids are live.
    pub fn check_balanced(&self) -> Result<Self, String> {
        let now = self.check_pins_balanced()?;
        if now.sids_live != self.sids_live {
            return Err(format!(
                "{} sids live, {} before",
                now.sids_live, self.sids_live
            ));
        }
        Ok(now)
    }

    /// [`Counters::check_balanced`] without the sids, for runs beside a
    /// filesystem whose inodes come and go with their sids.
    pub fn check_pins_balanced(&self) -> Result<Self, String> {
        let now = Self::now()?;
        let acquired = now.foll_pin_acquired - self.foll_pin_acquired;
        let released = now.foll_pin_released - self.foll_pin_released;
        if acquired != released {
            return Err(format!(
                "pins not back to the baseline: {acquired} acquired, {released} released"
            ));
        }
        if now.user_pages_live != 0 {
            return Err(format!("vm_mvc holds {} user pages", now.user_pages_live));
        }
        Ok(now)
    }
}

#[cfg(test)]
mod tests {
    use super::number_after;

    #[test]
    fn numbers_are_read_after_their_keys() {
        let stats = "sids: created 7 deleted 5 live 2\nprotzero_ptes_write_protected: 3\n";
        assert_eq!(number_after(stats, "live "), Ok(2));
        assert_eq!(number_after(stats, "protzero_ptes_write_protected"), Ok(3));
        assert!(number_after(stats, "missing").is_err());
        assert!(number_after("live x", "live ").is_err());
    }
}
