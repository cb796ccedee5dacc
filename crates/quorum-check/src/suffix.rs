//! A Fenwick tree answering "how many inserted items sit at position >= p, and which of them
//! has the smallest time", with insertions only. The staleness sweeps insert writes as they
//! complete and ask, for each read, how many completed writes it missed and which was first.

/// Counts and earliest `(time, tag)` over suffixes of positions `0..len`.
pub(crate) struct SuffixIndex {
    count: Vec<u64>,
    min: Vec<(u64, usize)>,
}

impl SuffixIndex {
    pub fn new(len: usize) -> Self {
        SuffixIndex {
            count: vec![0; len + 1],
            min: vec![(u64::MAX, usize::MAX); len + 1],
        }
    }

    fn len(&self) -> usize {
        self.count.len() - 1
    }

    /// Adds an item at `pos` (< len) that happened at `time`; `tag` identifies it.
    pub fn insert(&mut self, pos: usize, time: u64, tag: usize) {
        // Positions are stored reversed so that a suffix is a Fenwick prefix.
        let mut i = self.len() - pos;
        while i < self.count.len() {
            self.count[i] += 1;
            self.min[i] = self.min[i].min((time, tag));
            i += i & i.wrapping_neg();
        }
    }

    /// Items at positions >= `from`: how many, and the earliest `(time, tag)` among them.
    pub fn query(&self, from: usize) -> (u64, Option<(u64, usize)>) {
        if from >= self.len() {
            return (0, None);
        }
        let mut i = self.len() - from;
        let (mut count, mut min) = (0, (u64::MAX, usize::MAX));
        while i > 0 {
            count += self.count[i];
            min = min.min(self.min[i]);
            i -= i & i.wrapping_neg();
        }
        (count, (count > 0).then_some(min))
    }
}

#[cfg(test)]
mod tests {
    use super::SuffixIndex;

    #[test]
    fn counts_and_minimum_over_suffixes() {
        let mut index = SuffixIndex::new(10);
        index.insert(2, 50, 0);
        index.insert(7, 20, 1);
        index.insert(9, 30, 2);
        assert_eq!(index.query(0), (3, Some((20, 1))));
        assert_eq!(index.query(3), (2, Some((20, 1))));
        assert_eq!(index.query(8), (1, Some((30, 2))));
        assert_eq!(index.query(10), (0, None));
    }
}
