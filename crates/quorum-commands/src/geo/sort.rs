//! The two sorts Redis uses to order search results by distance, ported so that ties (equal
//! distances) and the odd NaN distance land exactly where Redis puts them:
//!
//! - all results: glibc's `qsort`, a top-down merge sort (`msort_with_tmp`, stable);
//! - the first COUNT of more results: Redis's `pqsort` (`pqsort.c`, a partial
//!   Bentley-McIlroy quicksort, not stable).
//!
//! Both sort positions into the results, compared with `geo.c`'s comparator.
//!
//! Not here: what is sorted (`search.rs`).

use std::cmp::min;

/// `sort_gp_asc`: 1 when `a` is farther, 0 when equal, -1 otherwise (NaN included).
pub(super) fn compare_ascending(a: f64, b: f64) -> i32 {
    if a > b {
        1
    } else if a == b {
        0
    } else {
        -1
    }
}

/// glibc's `qsort` (its merge sort): `v` sorted by `cmp` on its elements.
pub(super) fn merge_sort(v: &mut [usize], cmp: &impl Fn(usize, usize) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    merge_sort(&mut v[..n1], cmp);
    merge_sort(&mut v[n1..], cmp);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(v[i], v[j]) <= 0 {
            merged.push(v[i]);
            i += 1;
        } else {
            merged.push(v[j]);
            j += 1;
        }
    }
    merged.extend_from_slice(&v[i..n1]);
    // What is left of the second half is already in place.
    let done = merged.len();
    v[..done].copy_from_slice(&merged);
}

/// Redis's `pqsort(v, n, cmp, left, right)`: sorts at least the positions `left..=right`
/// of `v` into their final places.
pub(super) fn partial_sort(
    v: &mut [usize],
    cmp: &impl Fn(usize, usize) -> i32,
    left: usize,
    right: usize,
) {
    pqsort(v, 0, v.len(), cmp, left, right);
}

/// `med3`: the position of the median of three.
fn med3(v: &[usize], a: usize, b: usize, c: usize, cmp: &impl Fn(usize, usize) -> i32) -> usize {
    if cmp(v[a], v[b]) < 0 {
        if cmp(v[b], v[c]) < 0 {
            b
        } else if cmp(v[a], v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(v[b], v[c]) > 0 {
        b
    } else if cmp(v[a], v[c]) < 0 {
        a
    } else {
        c
    }
}

/// Swaps `n` elements from `a` with `n` elements from `b` (`vecswap`).
fn swap_runs(v: &mut [usize], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// Whether `[left, right]` misses the `n` elements from `start` (then `_pqsort` skips them).
fn outside(start: usize, n: usize, left: usize, right: usize) -> bool {
    (left < start && right < start) || (left >= start + n && right >= start + n)
}

/// `_pqsort` over `v[a..a + n]`, positions as C's pointers.
fn pqsort(
    v: &mut [usize],
    mut a: usize,
    mut n: usize,
    cmp: &impl Fn(usize, usize) -> i32,
    left: usize,
    right: usize,
) {
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(v[pl - 1], v[pl]) > 0 {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let r = cmp(v[pb], v[a]);
                if r > 0 {
                    break;
                }
                if r == 0 {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(v[pc], v[a]);
                if r < 0 {
                    break;
                }
                if r == 0 {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = min(pa - a, pb - pa);
        swap_runs(v, a, pb - r, r);
        let r = min(pd - pc, pn - pd - 1);
        swap_runs(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && !outside(a, r, left, right) {
            pqsort(v, a, r, cmp, left, right);
        }
        let r = pd - pc;
        if r <= 1 {
            return;
        }
        // Iterate rather than recurse on the right part.
        a = pn - r;
        n = r;
        if outside(a, n, left, right) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 20) as f64
            })
            .collect()
    }

    #[test]
    fn merge_sort_is_stable() {
        let dist = keys(100, 7);
        let cmp = |a: usize, b: usize| compare_ascending(dist[a], dist[b]);
        let mut got: Vec<usize> = (0..dist.len()).collect();
        merge_sort(&mut got, &cmp);
        let mut expected: Vec<usize> = (0..dist.len()).collect();
        expected.sort_by(|&a, &b| dist[a].total_cmp(&dist[b]));
        assert_eq!(got, expected);
    }

    #[test]
    fn partial_sort_places_the_first_positions() {
        for (n, seed) in [(5, 1), (7, 2), (8, 3), (41, 4), (200, 5), (1000, 6)] {
            let dist = keys(n, seed);
            let cmp = |a: usize, b: usize| compare_ascending(dist[a], dist[b]);
            for count in [1, 3, n / 2, n] {
                let mut got: Vec<usize> = (0..n).collect();
                partial_sort(&mut got, &cmp, 0, count.max(1) - 1);
                let mut sorted = dist.clone();
                sorted.sort_by(f64::total_cmp);
                let firsts: Vec<f64> = got[..count].iter().map(|&i| dist[i]).collect();
                assert_eq!(firsts, sorted[..count], "n {n} count {count}");
                let mut all = got.clone();
                all.sort_unstable();
                assert_eq!(all, (0..n).collect::<Vec<_>>());
            }
        }
    }
}
