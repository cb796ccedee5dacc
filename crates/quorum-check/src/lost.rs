//! How many acknowledged writes the final state lacks: the figure a comparison with a store
//! that loses writes (Redis with Sentinel) is about.
//!
//! The anomaly list says *that* writes were lost and shows the first few; this counts them all.
//! The final state of a key is its final read (the last linearizable GET, as in the checkers).
//! An acknowledged APPEND is lost when its token is missing from the final read: exact. INCRs
//! cannot be told apart, so their loss is a lower bound: the acknowledged INCRs that survived
//! returned distinct values no larger than the final value, so at least
//! `acknowledged - distinct values in 1..=final` were lost (unknown INCRs that took effect
//! cannot hide a loss this way, unlike in `acknowledged - final`). Keys without a final read
//! are not counted. Registers are not counted: a SET that was overwritten leaves no trace.

use serde::{Deserialize, Serialize};

use crate::fasthash::FxHashSet;
use crate::history::{Call, OpId};
use crate::prepare::{KeyOps, Op};
use crate::report::Workload;

/// Acknowledged APPENDs and INCRs, and how many of them the final state lacks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostWrites {
    /// Acknowledged APPENDs on keys with a final read.
    pub appends_acknowledged: u64,
    /// Of those, the APPENDs whose token the final read lacks.
    pub appends_lost: u64,
    /// Acknowledged INCRs on keys with a final read.
    pub increments_acknowledged: u64,
    /// Of those, at least this many are missing from the final value.
    pub increments_lost: u64,
    /// List-append and counter keys that had no acknowledged final read, so were not counted.
    pub keys_without_final_read: u64,
    /// The lost APPENDs, in id order (for reports that leave them out of failover gaps).
    pub lost_append_ops: Vec<OpId>,
}

impl LostWrites {
    /// Acknowledged APPENDs and INCRs counted.
    pub fn acknowledged(&self) -> u64 {
        self.appends_acknowledged + self.increments_acknowledged
    }

    /// Lost APPENDs plus the lower bound of lost INCRs.
    pub fn lost(&self) -> u64 {
        self.appends_lost + self.increments_lost
    }

    /// `lost / acknowledged` (0 when nothing was acknowledged).
    pub fn fraction(&self) -> f64 {
        match self.acknowledged() {
            0 => 0.0,
            n => self.lost() as f64 / n as f64,
        }
    }
}

/// Adds one key's acknowledged and lost writes to `lost`.
pub(crate) fn count(key: &KeyOps, lost: &mut LostWrites) {
    if !matches!(key.workload, Workload::ListAppend | Workload::Counter) {
        return;
    }
    let Some(final_value) = final_value(&key.ops) else {
        lost.keys_without_final_read += 1;
        return;
    };
    let acknowledged = key.ops.iter().filter(|op| op.is_ok());
    if key.workload == Workload::ListAppend {
        let held: FxHashSet<&str> = final_value
            .split_inclusive(crate::history::TOKEN_SEPARATOR)
            .collect();
        for op in acknowledged {
            let Call::Append { token } = &op.op.call else {
                continue;
            };
            lost.appends_acknowledged += 1;
            if !held.contains(token.as_str()) {
                lost.appends_lost += 1;
                lost.lost_append_ops.push(op.id());
            }
        }
        lost.lost_append_ops.sort_unstable();
        return;
    }
    // A final value that is not a number is a phantom the counter check reports; treat it as 0.
    let final_count: i64 = final_value.parse().unwrap_or(0);
    let values: Vec<i64> = acknowledged.filter_map(Op::int_reply).collect();
    let surviving: FxHashSet<i64> = values
        .iter()
        .copied()
        .filter(|v| (1..=final_count).contains(v))
        .collect();
    lost.increments_acknowledged += values.len() as u64;
    lost.increments_lost += (values.len() - surviving.len()) as u64;
}

/// The value of the key's final read: the last-invoked acknowledged linearizable GET.
fn final_value<'h>(ops: &[Op<'h>]) -> Option<&'h str> {
    ops.iter()
        .filter(|op| op.op.call == Call::Get && !op.is_readonly_read())
        .filter_map(|op| op.value_reply().map(|value| (op.invoke_ns(), value)))
        .max_by_key(|(invoked, _)| *invoked)
        .map(|(_, value)| value.unwrap_or(""))
}
