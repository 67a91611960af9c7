//! Small-cell suppression with complementary suppression (reporting_and_ui.md §B.5): a count
//! from 1 to 10 is never published (primary, shown "<11"; a zero is shown as 0), and more
//! cells are withheld (complementary, shown "c") until no withheld cell can be worked out
//! exactly from what is published: the other cells, the row and column totals and the grand
//! total. The attacker this defends against is the differencing attack
//! ([`attack`]) and its algebraic closure ([`determined`]): subtracting published cells from published totals, knowing that a
//! primary cell lies in 1..=10 and a complementary one is at least 11, repeated over every
//! line until nothing narrows. The property test in this module attacks the result with an
//! exhaustive search over every integer table consistent with what was published.

use serde::Serialize;

/// Counts below this are not published.
pub const THRESHOLD: u64 = 11;

/// How a cell is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Shown,
    /// 1..=10: withheld, shown "<11".
    Primary,
    /// Withheld so that a primary cell cannot be recovered, shown "c".
    Complementary,
}

/// A table as the sums it publishes: each line's parts add up to its total cell.
#[derive(Debug, Clone)]
pub struct Grid {
    pub values: Vec<u64>,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone)]
pub struct Line {
    pub parts: Vec<usize>,
    pub total: usize,
}

impl Grid {
    /// A body of `rows` with a total per row, a total per column and the grand total. Cell
    /// `(i, j)` is at `i * cols + j`; row totals follow the body, then column totals, then the
    /// grand total.
    pub fn table(rows: &[Vec<u64>]) -> Grid {
        let r = rows.len();
        let c = rows.first().map_or(0, Vec::len);
        let mut values: Vec<u64> = rows.iter().flat_map(|row| row.iter().copied()).collect();
        let row_total = |i: usize| r * c + i;
        let col_total = |j: usize| r * c + r + j;
        let grand = r * c + r + c;
        values.extend(rows.iter().map(|row| row.iter().sum::<u64>()));
        values.extend((0..c).map(|j| rows.iter().map(|row| row[j]).sum::<u64>()));
        values.push(rows.iter().flatten().sum());
        let mut lines = Vec::new();
        for i in 0..r {
            lines.push(Line { parts: (0..c).map(|j| i * c + j).collect(), total: row_total(i) });
        }
        for j in 0..c {
            lines.push(Line { parts: (0..r).map(|i| i * c + j).collect(), total: col_total(j) });
        }
        lines.push(Line { parts: (0..r).map(row_total).collect(), total: grand });
        lines.push(Line { parts: (0..c).map(col_total).collect(), total: grand });
        Grid { values, lines }
    }
}

impl Grid {
    /// A body of `rows` whose columns are totalled but whose rows are not (the columns count
    /// different things, such as stages of a detainer). Column totals follow the body.
    pub fn columns(rows: &[Vec<u64>]) -> Grid {
        let r = rows.len();
        let c = rows.first().map_or(0, Vec::len);
        let mut values: Vec<u64> = rows.iter().flat_map(|row| row.iter().copied()).collect();
        values.extend((0..c).map(|j| rows.iter().map(|row| row[j]).sum::<u64>()));
        let lines = (0..c).map(|j| Line { parts: (0..r).map(|i| i * c + j).collect(), total: r * c + j }).collect();
        Grid { values, lines }
    }
}

/// What an attacker can bound each cell to.
const UNBOUNDED: i64 = i64::MAX / 4;

/// The differencing attack: each cell's interval (lowest, highest) given what is published.
pub fn attack(g: &Grid, marks: &[Mark]) -> Vec<(i64, i64)> {
    let mut b: Vec<(i64, i64)> = g
        .values
        .iter()
        .zip(marks)
        .map(|(&v, m)| match m {
            Mark::Shown => (v as i64, v as i64),
            Mark::Primary => (1, THRESHOLD as i64 - 1),
            Mark::Complementary => (THRESHOLD as i64, UNBOUNDED),
        })
        .collect();
    // Each pass can only narrow; bounded so that a pathological table still ends.
    for _ in 0..(4 * g.values.len() + 8) {
        let mut changed = false;
        for line in &g.lines {
            let (lo_sum, hi_sum) = line
                .parts
                .iter()
                .fold((0i64, 0i64), |(l, h), &p| (l.saturating_add(b[p].0), h.saturating_add(b[p].1).min(UNBOUNDED)));
            let t = line.total;
            let nt = (b[t].0.max(lo_sum), b[t].1.min(hi_sum));
            changed |= nt != b[t];
            b[t] = nt;
            for &p in &line.parts {
                let others_lo = lo_sum - b[p].0;
                let others_hi = if hi_sum >= UNBOUNDED || b[p].1 >= UNBOUNDED { UNBOUNDED } else { hi_sum - b[p].1 };
                let lo = b[t].0.saturating_sub(others_hi).max(b[p].0);
                let hi = if b[t].1 >= UNBOUNDED { b[p].1 } else { (b[t].1 - others_lo).min(b[p].1) };
                changed |= (lo, hi) != b[p];
                b[p] = (lo, hi);
            }
        }
        if !changed {
            break;
        }
    }
    b
}

/// The withheld cells whose value the published sums fix exactly, whatever the bounds: the
/// cell's unit vector lies in the row space of the lines' equations over the withheld cells
/// (e.g. two rows and a column whose sums, combined, leave one cell). Reduced row echelon
/// form over the small integer coefficients, in f64 (exact for tables this size).
pub fn determined(g: &Grid, marks: &[Mark]) -> Vec<bool> {
    let unknown: Vec<usize> = (0..marks.len()).filter(|&i| marks[i] != Mark::Shown).collect();
    let col = |c: usize| unknown.iter().position(|&u| u == c);
    let mut m: Vec<Vec<f64>> = g
        .lines
        .iter()
        .map(|l| {
            let mut row = vec![0.0; unknown.len()];
            for &p in &l.parts {
                if let Some(k) = col(p) {
                    row[k] += 1.0;
                }
            }
            if let Some(k) = col(l.total) {
                row[k] -= 1.0;
            }
            row
        })
        .collect();
    let mut pivots = Vec::new();
    let mut r = 0;
    for c in 0..unknown.len() {
        let Some(p) = (r..m.len()).find(|&i| m[i][c].abs() > 1e-9) else { continue };
        m.swap(r, p);
        let d = m[r][c];
        m[r].iter_mut().for_each(|x| *x /= d);
        for i in 0..m.len() {
            if i != r && m[i][c].abs() > 1e-9 {
                let f = m[i][c];
                let pivot_row = m[r].clone();
                m[i].iter_mut().zip(&pivot_row).for_each(|(x, y)| *x -= f * y);
            }
        }
        pivots.push((r, c));
        r += 1;
    }
    let mut out = vec![false; marks.len()];
    for (row, c) in pivots {
        if m[row].iter().enumerate().all(|(k, x)| k == c || x.abs() < 1e-9) {
            out[unknown[c]] = true;
        }
    }
    out
}

/// Which cells to withhold.
pub fn suppress(g: &Grid) -> Vec<Mark> {
    let mut marks: Vec<Mark> =
        g.values.iter().map(|&v| if (1..THRESHOLD).contains(&v) { Mark::Primary } else { Mark::Shown }).collect();
    let is_total: Vec<bool> = {
        let mut t = vec![false; g.values.len()];
        for l in &g.lines {
            t[l.total] = true;
        }
        t
    };
    loop {
        let b = attack(g, &marks);
        let fixed = determined(g, &marks);
        let Some(exposed) = (0..marks.len()).find(|&i| marks[i] != Mark::Shown && (fixed[i] || b[i].0 >= b[i].1))
        else {
            break;
        };
        // The smallest published non-zero cell in a line through the exposed one, body cells
        // before totals; failing that, the smallest anywhere.
        let candidate = |cells: &mut dyn Iterator<Item = usize>| {
            cells
                .filter(|&k| k != exposed && marks[k] == Mark::Shown && g.values[k] > 0)
                .min_by_key(|&k| (is_total[k], g.values[k], k))
        };
        let pick = candidate(
            &mut g
                .lines
                .iter()
                .filter(|l| l.total == exposed || l.parts.contains(&exposed))
                .flat_map(|l| l.parts.iter().copied().chain([l.total])),
        )
        .or_else(|| candidate(&mut (0..marks.len())));
        match pick {
            Some(k) => marks[k] = Mark::Complementary,
            None => break,
        }
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The exhaustive attacker: every integer table that agrees with what was published (each
    /// primary cell in 1..=10, each complementary one at least 11, every line adding up),
    /// searched with each line's last unknown forced. Returns, per cell, whether it took
    /// only one value across all of them; None when the search was too large to finish.
    fn exhaustive(g: &Grid, marks: &[Mark]) -> Option<Vec<bool>> {
        let bounds = attack(g, marks);
        let unknown: Vec<usize> = (0..marks.len()).filter(|&i| marks[i] != Mark::Shown).collect();
        let mut seen: Vec<Option<(i64, i64)>> = vec![None; marks.len()];
        let mut value: Vec<Option<i64>> =
            (0..marks.len()).map(|i| (marks[i] == Mark::Shown).then_some(g.values[i] as i64)).collect();
        let mut budget = 2_000_000u64;
        fn consistent(g: &Grid, value: &mut [Option<i64>], bounds: &[(i64, i64)], set: &mut Vec<usize>) -> bool {
            loop {
                let mut progress = false;
                for l in &g.lines {
                    let cells: Vec<(usize, i64)> = l.parts.iter().map(|&p| (p, 1)).chain([(l.total, -1)]).collect();
                    let open: Vec<&(usize, i64)> = cells.iter().filter(|(c, _)| value[*c].is_none()).collect();
                    let known: i64 = cells.iter().filter_map(|(c, s)| value[*c].map(|v| v * s)).sum();
                    match open.as_slice() {
                        [] if known != 0 => return false,
                        [(c, s)] => {
                            let v = -known * s;
                            if v < bounds[*c].0 || v > bounds[*c].1 {
                                return false;
                            }
                            value[*c] = Some(v);
                            set.push(*c);
                            progress = true;
                        }
                        _ => {}
                    }
                }
                if !progress {
                    return true;
                }
            }
        }
        #[allow(clippy::too_many_arguments)]
        fn search(
            g: &Grid,
            unknown: &[usize],
            bounds: &[(i64, i64)],
            value: &mut Vec<Option<i64>>,
            seen: &mut Vec<Option<(i64, i64)>>,
            budget: &mut u64,
        ) -> bool {
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            let Some(&next) = unknown.iter().find(|&&u| value[u].is_none()) else {
                for &u in unknown {
                    let v = value[u].expect("assigned");
                    seen[u] = Some(seen[u].map_or((v, v), |(a, b)| (a.min(v), b.max(v))));
                }
                return true;
            };
            let (lo, hi) = bounds[next];
            let hi = hi.min(lo + 400);
            for v in lo..=hi {
                value[next] = Some(v);
                let mut set = vec![];
                if consistent(g, value, bounds, &mut set) && !search(g, unknown, bounds, value, seen, budget) {
                    return false;
                }
                for c in set {
                    value[c] = None;
                }
                // Every unknown already took two values: nothing is recoverable; stop early.
                if unknown.iter().all(|&u| seen[u].is_some_and(|(a, b)| a < b)) {
                    value[next] = None;
                    return true;
                }
            }
            value[next] = None;
            true
        }
        let mut set = vec![];
        if !consistent(g, &mut value, &bounds, &mut set) {
            panic!("the true table is always consistent with what was published");
        }
        if !search(g, &unknown, &bounds, &mut value, &mut seen, &mut budget) {
            return None;
        }
        Some((0..marks.len()).map(|i| marks[i] != Mark::Shown && seen[i].is_some_and(|(a, b)| a == b)).collect())
    }

    fn small_counts() -> impl Strategy<Value = Vec<Vec<u64>>> {
        (1usize..=4, 1usize..=4).prop_flat_map(|(r, c)| {
            proptest::collection::vec(
                proptest::collection::vec(prop_oneof![3 => Just(0u64), 4 => 1u64..=10, 3 => 11u64..=40], c),
                r,
            )
        })
    }

    proptest! {
        // PROPTEST_CASES tables (proptest's default 256 in the test command; scripts/long-tests runs 20,000).
        #![proptest_config(ProptestConfig::default())]
        /// Differencing recovers no withheld cell: every count from 1 to 10 is withheld, and
        /// no withheld cell takes a single value across all tables consistent with what was
        /// published.
        #[test]
        fn differencing_recovers_no_withheld_cell(rows in small_counts()) {
            let g = Grid::table(&rows);
            let marks = suppress(&g);
            for (i, &v) in g.values.iter().enumerate() {
                prop_assert!(!(1..THRESHOLD).contains(&v) || marks[i] == Mark::Primary, "cell {i} = {v} shown");
            }
            let Some(exact) = exhaustive(&g, &marks) else { return Ok(()) };
            for (i, e) in exact.iter().enumerate() {
                prop_assert!(!e, "cell {i} ({}) recoverable: {:?} {:?}", g.values[i], g.values, marks);
            }
        }
    }

    /// A row with one small cell and its total published gives the cell away; the fix
    /// withholds a second cell in the row and, since the columns then expose both, more.
    #[test]
    fn one_small_cell_is_not_left_alone_in_its_row() {
        let g = Grid::table(&[vec![5, 30, 40], vec![20, 25, 35]]);
        let marks = suppress(&g);
        assert_eq!(marks[0], Mark::Primary);
        assert!(marks[1..3].contains(&Mark::Complementary), "{marks:?}");
        let b = attack(&g, &marks);
        assert!(b[0].0 < b[0].1, "{b:?}");
    }

    /// Primary suppression alone is recoverable, which is what the test above defends.
    #[test]
    fn without_complementary_cells_differencing_recovers_the_small_one() {
        let g = Grid::table(&[vec![5, 30, 40], vec![20, 25, 35]]);
        let marks: Vec<Mark> =
            g.values.iter().map(|&v| if (1..THRESHOLD).contains(&v) { Mark::Primary } else { Mark::Shown }).collect();
        assert_eq!(attack(&g, &marks)[0], (5, 5));
    }

    /// Zeros are published: a structural zero is not a small cell.
    #[test]
    fn zeros_are_shown() {
        let g = Grid::table(&[vec![0, 30], vec![12, 0]]);
        assert!(suppress(&g).iter().all(|m| *m == Mark::Shown));
    }
}
