//! Process set-up a load generator needs: many open files, and pinning to
//! chosen CPUs (so the generator and the hub do not share a core).

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use rustix::thread::{CpuSet, sched_setaffinity};

use crate::error::{Error, Result};

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit and
/// returns the new soft limit (`None`: unlimited). Child processes (worker
/// processes, a spawned hub) inherit it.
pub fn raise_nofile_limit() -> Result<Option<u64>> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        )
        .map_err(std::io::Error::from)?;
    }
    Ok(getrlimit(Resource::Nofile).current)
}

/// Parses a CPU list as `taskset -c` takes it: `1`, `0,2`, `0-3,6`.
pub fn parse_cpu_list(list: &str) -> Result<Vec<usize>> {
    let bad = || Error::Usage(format!("bad CPU list `{list}` (e.g. 1, 0,2 or 0-3)"));
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim) {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (
                a.parse::<usize>().map_err(|_| bad())?,
                b.parse::<usize>().map_err(|_| bad())?,
            ),
            None => {
                let cpu: usize = part.parse().map_err(|_| bad())?;
                (cpu, cpu)
            }
        };
        if first > last || last >= CpuSet::MAX_CPU {
            return Err(bad());
        }
        cpus.extend(first..=last);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Pins the calling thread to `cpus` (a list as [`parse_cpu_list`] takes
/// it). Call it before any other thread starts: threads and processes
/// started afterwards inherit the mask, earlier ones keep theirs.
pub fn pin_to_cpus(list: &str) -> Result<()> {
    let mut set = CpuSet::new();
    for cpu in parse_cpu_list(list)? {
        set.set(cpu);
    }
    sched_setaffinity(None, &set).map_err(std::io::Error::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("1").unwrap(), [1]);
        assert_eq!(parse_cpu_list("0,2").unwrap(), [0, 2]);
        assert_eq!(parse_cpu_list("3-5,0,4").unwrap(), [0, 3, 4, 5]);
        assert!(parse_cpu_list("").is_err());
        assert!(parse_cpu_list("2-1").is_err());
        assert!(parse_cpu_list("x").is_err());
    }

    #[test]
    fn raising_the_file_limit_works() {
        raise_nofile_limit().expect("raises");
    }
}
