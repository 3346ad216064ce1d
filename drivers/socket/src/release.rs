//! Giving memory back after a burst: once most of the connections of a busy time have gone,
//! the engine's tables shrink and the allocator returns what it freed to the system.
//!
//! A server that had one burst otherwise keeps its peak footprint for good: the memory its
//! buffers and queues used is reused, not leaked, but the C allocator keeps freed pages
//! (`benches/attack.sh`: echo stayed at 121 MiB after 1,000 flooding clients left, chat at
//! 30 MiB). Trimming costs a pass over the allocator's free lists (well under a millisecond
//! here), so it is done only when the channels have fallen to a quarter of their peak.

/// When to give memory back: after the channel count fell to a quarter of a peak of at least
/// [`MIN_PEAK`](Self::MIN_PEAK) since the last time.
#[derive(Debug, Default)]
pub(crate) struct Release {
    peak: usize,
}

impl Release {
    /// A peak below this is no burst: nothing worth giving back.
    pub(crate) const MIN_PEAK: usize = 16;

    /// After a turn with `channels` open: true when memory should be given back now.
    pub(crate) fn after_turn(&mut self, channels: usize) -> bool {
        self.peak = self.peak.max(channels);
        if self.peak < Self::MIN_PEAK || channels > self.peak / 4 {
            return false;
        }
        self.peak = channels;
        true
    }
}

/// Asks the allocator to return the memory it holds free to the system, where it can.
pub(crate) fn trim_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointer and is thread-safe (it takes each arena's lock);
    // it only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_given_back_once_a_burst_has_mostly_gone() {
        let mut release = Release::default();
        assert!(!release.after_turn(10), "no burst");
        assert!(!release.after_turn(1000));
        assert!(!release.after_turn(300), "still busy");
        assert!(release.after_turn(250), "a quarter of the peak");
        assert!(!release.after_turn(200), "once per burst");
        assert!(release.after_turn(40), "a quarter of what was left");
        assert!(!release.after_turn(30), "no burst since");
        assert!(!release.after_turn(1000));
        assert!(release.after_turn(0), "the next burst");
    }
}
