//! Collects the anomalies of one key, keeping reports readable: at most
//! [`EXAMPLES_PER_CLASS_MAX`] anomalies of each class per key are listed, then one line says how
//! many more were found. A broken run can produce an anomaly per read; the first few prove the
//! point and the count measures the damage.

use crate::report::{Anomaly, AnomalyClass};
use crate::OpId;

/// Anomalies listed per (key, class) before the rest are only counted.
pub(crate) const EXAMPLES_PER_CLASS_MAX: usize = 10;

/// The anomalies found on one key.
pub(crate) struct KeyFindings {
    key: String,
    listed: Vec<Anomaly>,
    /// (class, total found) in first-seen order.
    counts: Vec<(AnomalyClass, usize)>,
}

impl KeyFindings {
    pub fn new(key: &str) -> Self {
        KeyFindings {
            key: key.to_string(),
            listed: Vec::new(),
            counts: Vec::new(),
        }
    }

    /// Records one anomaly; `explanation` is only built when it will be listed.
    pub fn push(
        &mut self,
        class: AnomalyClass,
        ops: Vec<OpId>,
        explanation: impl FnOnce() -> String,
    ) {
        let seen = match self.counts.iter_mut().find(|(c, _)| *c == class) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.counts.push((class, 1));
                1
            }
        };
        if seen <= EXAMPLES_PER_CLASS_MAX {
            self.listed.push(Anomaly {
                class,
                key: self.key.clone(),
                explanation: explanation(),
                ops,
            });
        }
    }

    /// True when anything was found.
    pub fn any(&self) -> bool {
        !self.counts.is_empty()
    }

    /// The listed anomalies followed by one summary per class that overflowed.
    pub fn finish(mut self, into: &mut Vec<Anomaly>) {
        for (class, n) in &self.counts {
            if *n > EXAMPLES_PER_CLASS_MAX {
                self.listed.push(Anomaly {
                    class: *class,
                    key: self.key.clone(),
                    explanation: format!(
                        "{} more {class} anomalies on this key are not listed ({n} in all)",
                        n - EXAMPLES_PER_CLASS_MAX
                    ),
                    ops: Vec::new(),
                });
            }
        }
        into.append(&mut self.listed);
    }
}
