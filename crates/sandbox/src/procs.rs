//! Finding and killing a sandbox's processes through /proc. Every bubblewrap sandbox runs as a uid of its own,
//! so "the sandbox's processes" are exactly the processes whose real uid is that uid.

use rustix::process::{Pid, Signal, kill_process};

/// Process ids whose real uid is `uid` (zombies included: a zombie is still a process table entry).
pub fn processes_of_uid(uid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            (real_uid(pid)? == uid).then_some(pid)
        })
        .collect()
}

/// The real uid of a process, from the `Uid:` line of /proc/PID/status; `None` when it is gone.
fn real_uid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Sends SIGKILL to every process of `uid` but `spare`; returns how many were signalled.
pub(crate) fn kill_uid(uid: u32, spare: Option<u32>) -> usize {
    processes_of_uid(uid)
        .into_iter()
        .filter(|&pid| Some(pid) != spare)
        .filter(|&pid| kill(pid))
        .count()
}

/// SIGKILL to one process; false when it is already gone.
pub(crate) fn kill(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .is_some_and(|pid| kill_process(pid, Signal::KILL).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_process_by_uid() {
        let me = std::process::id();
        let uid = real_uid(me).unwrap();
        assert!(processes_of_uid(uid).contains(&me));
        assert_eq!(real_uid(u32::MAX), None);
    }
}
