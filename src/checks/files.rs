//! Files that cannot be read as tasks: `invalid_file` and `duplicate_id`.

use serde_json::json;

use super::{Severity, Signal};
use crate::store::{Scan, Store};

pub fn signals(store: &Store, scan: &Scan) -> Vec<Signal> {
    scan.invalid
        .iter()
        .map(|bad| {
            let path = store.display(&bad.path);
            let kind = if bad.reason.starts_with("duplicate id ") {
                "duplicate_id"
            } else {
                "invalid_file"
            };
            Signal {
                task: bad.id.clone(),
                kind,
                severity: Severity::Error,
                detail: format!("{path}:{}: {}", bad.line, bad.reason),
                evidence: json!({ "path": path, "line": bad.line }),
            }
        })
        .collect()
}
