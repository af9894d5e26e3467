//! `.tasks/config.yaml`: every key optional, unknown keys an error that names the key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub id_prefix: Option<String>,
    pub lease: Option<Duration>,
    pub reclaim_after: Option<Duration>,
    pub max_attempts: Option<u32>,
    pub review: Option<Review>,
    #[serde(default)]
    pub sla: Sla,
    #[serde(default)]
    pub identities: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub routing: Routing,
    #[serde(default)]
    pub done: Done,
    #[serde(default)]
    pub worktrees: Worktrees,
    #[serde(default)]
    pub remote: RemoteConfig,
}

/// Where `tasks sync` and `--remote` writes share `.tasks/` with other clones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    pub name: Option<String>,
    pub branch: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Review {
    Optional,
    Required,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    pub pickup: Option<Duration>,
    pub review: Option<Duration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    #[serde(default)]
    pub strict: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Done {
    /// Fields `tasks done` insists on: `commit` and/or `pr_url`.
    #[serde(default)]
    pub require: Vec<Requirement>,
    /// Shell commands that must pass before a task counts as done.
    #[serde(default)]
    pub checks: Vec<String>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    Commit,
    PrUrl,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Worktrees {
    pub dir: Option<String>,
    pub branch_prefix: Option<String>,
}

pub const DEFAULT_LEASE_SECS: u64 = 3600;

/// The largest config file read.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// The longest `id_prefix`: room is left for the generated part of an id.
pub const MAX_ID_PREFIX_LEN: usize = crate::task::model::MAX_ID_LEN - 16;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

impl Config {
    /// Reads the config file; a missing file is the default config.
    pub fn load(path: &Path, display: &str) -> Result<Config> {
        // Read no more than the limit (and one byte to tell it was passed): the file may be
        // anything, even endless.
        let mut bytes = Vec::new();
        let read = std::fs::File::open(path).and_then(|file| {
            use std::io::Read;
            file.take(MAX_CONFIG_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
        });
        match read {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => {
                return Err(Error::failure(
                    "config",
                    format!("cannot read {display}: {e}"),
                ));
            }
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            Error::failure(
                "config",
                format!("{display}:{line}: not valid UTF-8 (first bad byte on this line)"),
            )
        })?;
        Config::parse(&text).map_err(|(line, message)| {
            Error::failure("config", format!("{display}:{line}: {message}"))
                .hint("docs/config.md lists every key, its default and its format")
        })
    }

    /// Parses config text; errors carry the 1-based line.
    pub fn parse(text: &str) -> std::result::Result<Config, (usize, String)> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err((
                1,
                format!(
                    "the file is larger than {} KiB; a config is a few lines",
                    MAX_CONFIG_BYTES / 1024
                ),
            ));
        }
        if let Some(line) = crate::task::yaml::flow_too_deep(text) {
            return Err((
                line,
                format!(
                    "lists or mappings nested more than {} deep",
                    crate::task::yaml::MAX_FLOW_DEPTH
                ),
            ));
        }
        if text.trim().is_empty()
            || text
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            return Ok(Config::default());
        }
        let config: Config = serde_norway::from_str(text).map_err(|e| {
            let line = e.location().map_or(1, |l| l.line());
            let message = e.to_string();
            let message = message
                .find(" at line ")
                .map_or(message.as_str(), |i| &message[..i])
                .to_string();
            let at = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
            if crate::task::model::tab_indented(at) {
                return (line, crate::task::model::TAB_INDENT.to_string());
            }
            value_error_at(text, line, message)
        })?;
        if let Some(prefix) = &config.id_prefix
            && !(crate::task::model::valid_id(prefix) && prefix.len() <= MAX_ID_PREFIX_LEN)
        {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("id_prefix"))
                .map_or(1, |i| i + 1);
            return Err((
                line,
                format!(
                    "id_prefix `{}` must be letters, digits, `.`, `_` or `-`, starting with a letter or digit, at most {MAX_ID_PREFIX_LEN} long",
                    crate::task::model::shown(prefix)
                ),
            ));
        }
        // One spelling may name one person only: otherwise which one it means is a guess.
        let mut seen: Vec<(String, &str)> = Vec::new();
        for (canon, aliases) in &config.identities {
            for name in std::iter::once(canon).chain(aliases) {
                let key = name.trim().to_lowercase();
                if let Some((_, other)) = seen.iter().find(|(k, o)| *k == key && *o != canon) {
                    let line = text
                        .lines()
                        .position(|l| l.to_lowercase().contains(&key))
                        .map_or(1, |i| i + 1);
                    return Err((
                        line,
                        format!("identities: `{name}` names both {other} and {canon}"),
                    ));
                }
                seen.push((key, canon.as_str()));
            }
        }
        Ok(config)
    }

    pub fn id_prefix(&self) -> &str {
        self.id_prefix.as_deref().unwrap_or("T")
    }

    pub fn lease(&self) -> Duration {
        self.lease.unwrap_or(Duration(DEFAULT_LEASE_SECS))
    }

    /// How long a claim may show no sign of life before `heartbeat --fix` releases it:
    /// default 2h.
    pub fn reclaim_after(&self) -> Duration {
        self.reclaim_after.unwrap_or(Duration(2 * 3600))
    }

    /// How long an assigned task may wait to be claimed: default 2h.
    pub fn sla_pickup(&self) -> Duration {
        self.sla.pickup.unwrap_or(Duration(2 * 3600))
    }

    /// How long a task may stay in review: default 24h.
    pub fn sla_review(&self) -> Duration {
        self.sla.review.unwrap_or(Duration(24 * 3600))
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS)
    }

    /// Where `tasks start` puts worktrees, relative to the root: default `.worktrees`.
    pub fn worktrees_dir(&self) -> &str {
        self.worktrees.dir.as_deref().unwrap_or(".worktrees")
    }

    /// The prefix of the branches `tasks start` creates: default `tasks/`.
    pub fn branch_prefix(&self) -> &str {
        self.worktrees.branch_prefix.as_deref().unwrap_or("tasks/")
    }

    /// The git remote other clones share `.tasks/` through: default `origin`.
    pub fn remote_name(&self) -> &str {
        self.remote.name.as_deref().unwrap_or("origin")
    }

    /// The branch on the remote that carries `.tasks/`: default the current branch.
    pub fn remote_branch(&self) -> Option<&str> {
        self.remote.branch.as_deref()
    }

    pub fn review_required(&self) -> bool {
        self.review == Some(Review::Required)
    }
}

/// A value our own parsing refuses (a duration) is reported by the YAML parser at the mapping
/// that holds it, under the mapping's name: point at the line of the value, and name its key.
fn value_error_at(text: &str, line: usize, message: String) -> (usize, String) {
    let Some((path, value)) = message
        .split_once(": invalid duration `")
        .and_then(|(path, rest)| Some((path, rest.split_once('`')?.0)))
    else {
        return (line, message);
    };
    let found = text
        .lines()
        .enumerate()
        .skip(line.saturating_sub(1))
        .find(|(_, l)| l.contains(value) && l.contains(':'));
    let Some((index, text_line)) = found else {
        return (line, message);
    };
    let key = text_line
        .split(':')
        .next()
        .unwrap_or_default()
        .trim()
        .trim_start_matches("- ");
    let message = if key.is_empty() || path.rsplit('.').next() == Some(key) {
        message
    } else {
        format!("{path}.{key}{}", &message[path.len()..])
    };
    (index + 1, message)
}

/// A span of time written as `90s`, `15m`, `1h`, `2h30m` or `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(pub u64);

impl Duration {
    pub fn secs(self) -> u64 {
        self.0
    }
}

/// The longest duration accepted: 100 years.
pub const MAX_DURATION_SECS: u64 = 36_500 * 86_400;

impl FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("invalid duration `{s}`: write it like 90s, 15m, 1h, 2h30m or 1d");
        let mut total: u64 = 0;
        let mut number = String::new();
        let mut any = false;
        for c in s.trim().chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return Err(bad()),
            };
            let n: u64 = number.parse().map_err(|_| bad())?;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
            number.clear();
            any = true;
        }
        if !number.is_empty() || !any {
            return Err(bad());
        }
        // Times are added to dates; beyond a century they stop meaning anything.
        if total > MAX_DURATION_SECS {
            return Err(format!(
                "invalid duration `{s}`: at most 36500d (100 years)"
            ));
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mut rest, mut out) = (self.0, String::new());
        for (unit, name) in [(86_400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')] {
            if rest >= unit {
                out.push_str(&format!("{}{name}", rest / unit));
                rest %= unit;
            }
        }
        if out.is_empty() {
            out.push_str("0s");
        }
        f.write_str(&out)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!("90s".parse::<Duration>().unwrap().secs(), 90);
        assert_eq!("2h30m".parse::<Duration>().unwrap().secs(), 9000);
        assert_eq!("1d".parse::<Duration>().unwrap().secs(), 86_400);
        assert!("10".parse::<Duration>().is_err());
        assert!("1x".parse::<Duration>().is_err());
        assert_eq!(Duration(5400).to_string(), "1h30m");
        assert!(
            Config::parse("identities: { a: [x], b: [X] }\n")
                .unwrap_err()
                .1
                .contains("names both a and b")
        );
        // Durations are added to dates: a century is the most that means anything.
        assert!("36500d".parse::<Duration>().is_ok());
        assert!("36501d".parse::<Duration>().is_err());
        assert!("100000000d".parse::<Duration>().is_err());
    }

    #[test]
    fn the_design_example_parses() {
        let text = "id_prefix: T\nlease: 1h\nreclaim_after: 2h\nmax_attempts: 3\nreview: optional\n\
                    sla: { pickup: 2h, review: 24h }\nidentities: { dave.fowler: [dave, davefowler] }\n\
                    roles: { backend: [alice, bob] }\nrouting: { strict: false }\n\
                    done: { require: [], checks: [], timeout: 20m }\n\
                    worktrees: { dir: .worktrees, branch_prefix: tasks/ }\n";
        let c = Config::parse(text).unwrap();
        assert_eq!(c.lease().secs(), 3600);
        assert_eq!(c.roles["backend"], ["alice", "bob"]);
    }

    #[test]
    fn hostile_configs_are_refused_fast() {
        let (line, message) =
            Config::parse(&format!("lease: 1h\nroles: {}", "[".repeat(5000))).unwrap_err();
        assert_eq!(line, 2);
        assert!(message.contains("nested more than 64 deep"), "{message}");
        let big = format!("# {}\n", "x".repeat(MAX_CONFIG_BYTES));
        assert!(
            Config::parse(&big)
                .unwrap_err()
                .1
                .contains("larger than 64 KiB")
        );
        // "Billion laughs": each anchor repeats the one before ten times.
        let mut bomb = String::from("roles:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            bomb.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
        }
        let started = std::time::Instant::now();
        assert!(Config::parse(&bomb).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let (_, message) = Config::parse(&format!("id_prefix: {}\n", "P".repeat(200))).unwrap_err();
        assert!(message.contains("at most 112 long"), "{message}");
        assert!(
            message.contains("PPP…"),
            "the prefix is shown cut short: {message}"
        );
    }

    #[test]
    fn unknown_keys_name_key_and_line() {
        let (line, message) = Config::parse("lease: 1h\nleese: 2h\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(message.contains("unknown field `leese`"), "{message}");
        let (line, message) = Config::parse("lease: soon\n").unwrap_err();
        assert_eq!(line, 1);
        assert!(message.contains("invalid duration"), "{message}");
        let (line, message) =
            Config::parse("# c\nlease: 1h\nsla:\n  pickup: 1h\n  review: soon\n").unwrap_err();
        assert_eq!(line, 5);
        assert!(
            message.starts_with("sla.review: invalid duration `soon`"),
            "{message}"
        );
        let (line, message) = Config::parse("lease: 1h\nmax_attempts: many\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(
            message.starts_with("max_attempts: invalid type"),
            "{message}"
        );
    }
}
