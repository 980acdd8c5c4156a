//! Version ranges: a union of disjoint intervals of versions (ordered as `version` says).
//!
//! Accepted forms:
//! - `*`: every version;
//! - comparators `>=`, `>`, `<=`, `<`, `=` (or `==`, or a bare version), `!=`, separated by commas and/or
//!   spaces, all of which must hold: `>=1.2.0, <1.4.3`, `>= 1.2 < 2`, `<2`, `=1.0.0`, `1.0.0`;
//! - alternatives separated by `||`, any of which may hold: `>=1.0, <1.2 || >=2.0, <2.1`;
//! - the `vers` scheme: `vers:npm/>=1.2.0|<1.4.3`, `vers:pypi/1.0|2.0`, `vers:npm/<1.0|>=2.0` — constraints
//!   separated by `|`, read as the `vers` specification does (sorted by version, `>`/`>=` then `<`/`<=`
//!   pairs form intervals, `=` adds a version, `!=` removes one). The versioning scheme is not kept.
//!
//! `Display` is the canonical form of the first two: intervals in ascending order joined by ` || `, each
//! `>=a, <b` (or `=v`, or one bound, or `*`). A range that matches no version, or any of whose alternatives
//! matches none, is an error that says so.

use std::cmp::Ordering;
use std::fmt;

use super::{ProductError, Version, check_text, invalid};

/// At most this many intervals after merging, and comparators in the text.
const MAX_PARTS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Bound {
    Unbounded,
    Included(Version),
    Excluded(Version),
}

/// Lower bounds in the order of the versions they admit first: `Unbounded < [v < (v`.
fn cmp_lower(a: &Bound, b: &Bound) -> Ordering {
    match (a, b) {
        (Bound::Unbounded, Bound::Unbounded) => Ordering::Equal,
        (Bound::Unbounded, _) => Ordering::Less,
        (_, Bound::Unbounded) => Ordering::Greater,
        (Bound::Included(x), Bound::Included(y)) | (Bound::Excluded(x), Bound::Excluded(y)) => x.cmp(y),
        (Bound::Included(x), Bound::Excluded(y)) => x.cmp(y).then(Ordering::Less),
        (Bound::Excluded(x), Bound::Included(y)) => x.cmp(y).then(Ordering::Greater),
    }
}

/// Upper bounds in the order of the versions they admit last: `v) < v] < Unbounded`.
fn cmp_upper(a: &Bound, b: &Bound) -> Ordering {
    match (a, b) {
        (Bound::Unbounded, Bound::Unbounded) => Ordering::Equal,
        (Bound::Unbounded, _) => Ordering::Greater,
        (_, Bound::Unbounded) => Ordering::Less,
        (Bound::Included(x), Bound::Included(y)) | (Bound::Excluded(x), Bound::Excluded(y)) => x.cmp(y),
        (Bound::Included(x), Bound::Excluded(y)) => x.cmp(y).then(Ordering::Greater),
        (Bound::Excluded(x), Bound::Included(y)) => x.cmp(y).then(Ordering::Less),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Interval {
    lower: Bound,
    upper: Bound,
}

impl Interval {
    const ALL: Interval = Interval {
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
    };

    fn is_empty(&self) -> bool {
        match (&self.lower, &self.upper) {
            (Bound::Included(l), Bound::Included(u)) => l > u,
            (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => l >= u,
            _ => false,
        }
    }

    fn intersect(&self, other: &Interval) -> Interval {
        let lower = if cmp_lower(&self.lower, &other.lower).is_ge() {
            &self.lower
        } else {
            &other.lower
        };
        let upper = if cmp_upper(&self.upper, &other.upper).is_le() {
            &self.upper
        } else {
            &other.upper
        };
        Interval {
            lower: lower.clone(),
            upper: upper.clone(),
        }
    }

    /// Whether `next` (which starts no earlier) overlaps or touches this interval, so the two merge.
    fn joins(&self, next: &Interval) -> bool {
        match (&self.upper, &next.lower) {
            (Bound::Unbounded, _) | (_, Bound::Unbounded) => true,
            (Bound::Excluded(u), Bound::Excluded(l)) => l < u,
            (Bound::Included(u) | Bound::Excluded(u), Bound::Included(l) | Bound::Excluded(l)) => l <= u,
        }
    }

    fn contains(&self, v: &Version) -> bool {
        let above = match &self.lower {
            Bound::Unbounded => true,
            Bound::Included(l) => v >= l,
            Bound::Excluded(l) => v > l,
        };
        let below = match &self.upper {
            Bound::Unbounded => true,
            Bound::Included(u) => v <= u,
            Bound::Excluded(u) => v < u,
        };
        above && below
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.lower, &self.upper) {
            (Bound::Unbounded, Bound::Unbounded) => f.write_str("*"),
            (Bound::Included(l), Bound::Included(u)) if l == u => write!(f, "={l}"),
            (lower, upper) => {
                match lower {
                    Bound::Unbounded => {}
                    Bound::Included(l) => write!(f, ">={l}")?,
                    Bound::Excluded(l) => write!(f, ">{l}")?,
                }
                if !matches!((lower, upper), (Bound::Unbounded, _) | (_, Bound::Unbounded)) {
                    f.write_str(", ")?;
                }
                match upper {
                    Bound::Unbounded => Ok(()),
                    Bound::Included(u) => write!(f, "<={u}"),
                    Bound::Excluded(u) => write!(f, "<{u}"),
                }
            }
        }
    }
}

/// Sorts and merges intervals into the canonical list; drops empty ones.
fn normalise(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.retain(|i| !i.is_empty());
    intervals.sort_by(|a, b| cmp_lower(&a.lower, &b.lower).then_with(|| cmp_upper(&a.upper, &b.upper)));
    let mut out: Vec<Interval> = Vec::with_capacity(intervals.len());
    for next in intervals {
        match out.last_mut() {
            Some(last) if last.joins(&next) => {
                if cmp_upper(&next.upper, &last.upper).is_gt() {
                    last.upper = next.upper;
                }
            }
            _ => out.push(next),
        }
    }
    out
}

fn intersect(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let i = x.intersect(y);
            if !i.is_empty() {
                out.push(i);
            }
        }
    }
    normalise(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

/// The intervals one comparator admits.
fn comparator_set(op: Op, v: Version) -> Vec<Interval> {
    let one = |lower, upper| vec![Interval { lower, upper }];
    match op {
        Op::Ge => one(Bound::Included(v), Bound::Unbounded),
        Op::Gt => one(Bound::Excluded(v), Bound::Unbounded),
        Op::Le => one(Bound::Unbounded, Bound::Included(v)),
        Op::Lt => one(Bound::Unbounded, Bound::Excluded(v)),
        Op::Eq => one(Bound::Included(v.clone()), Bound::Included(v)),
        Op::Ne => vec![
            Interval {
                lower: Bound::Unbounded,
                upper: Bound::Excluded(v.clone()),
            },
            Interval {
                lower: Bound::Excluded(v),
                upper: Bound::Unbounded,
            },
        ],
    }
}

fn parse_comparator(text: &str) -> Result<(Op, Version), ProductError> {
    let (op, rest) = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
    ]
    .into_iter()
    .chain([("=", Op::Eq)])
    .find_map(|(s, op)| text.strip_prefix(s).map(|rest| (op, rest)))
    .unwrap_or((Op::Eq, text));
    let rest = rest.trim();
    if let Some(c) = rest.chars().next().filter(|c| "<>=!^~|".contains(*c)) {
        return Err(invalid(format!(
            "`{text}` is not a comparator: unexpected `{c}` before the version"
        )));
    }
    if rest.is_empty() {
        return Err(invalid(format!("the comparator `{text}` has no version")));
    }
    Ok((op, Version::parse(rest)?))
}

/// One end of an interval of a `VersionRange`, as `intervals` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge<'a> {
    Unbounded,
    Included(&'a Version),
    Excluded(&'a Version),
}

impl<'a> Edge<'a> {
    fn of(bound: &'a Bound) -> Edge<'a> {
        match bound {
            Bound::Unbounded => Edge::Unbounded,
            Bound::Included(v) => Edge::Included(v),
            Bound::Excluded(v) => Edge::Excluded(v),
        }
    }
}

/// A range of versions; see the module documentation for the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionRange {
    /// Sorted, disjoint, not touching, never empty.
    intervals: Vec<Interval>,
}

impl VersionRange {
    /// Every version (`*`).
    pub fn all() -> VersionRange {
        VersionRange {
            intervals: vec![Interval::ALL],
        }
    }

    pub fn parse(text: &str) -> Result<VersionRange, ProductError> {
        check_text(text, "version range")?;
        let text = text.trim();
        if text.is_empty() {
            return Err(invalid("the version range is empty (use `*` for every version)"));
        }
        let intervals = if let Some(vers) = text.strip_prefix("vers:") {
            parse_vers(vers)?
        } else {
            let mut all = Vec::new();
            for alternative in text.split("||").map(str::trim) {
                let set = parse_conjunction(alternative)?;
                if set.is_empty() {
                    return Err(invalid(format!("`{alternative}` matches no version")));
                }
                all.extend(set);
            }
            normalise(all)
        };
        if intervals.is_empty() {
            return Err(invalid(format!("`{text}` matches no version")));
        }
        if intervals.len() > MAX_PARTS {
            return Err(invalid(format!(
                "a version range has at most {MAX_PARTS} intervals"
            )));
        }
        Ok(VersionRange { intervals })
    }

    /// Whether some version is in both ranges.
    pub fn overlaps(&self, other: &VersionRange) -> bool {
        self.intervals
            .iter()
            .any(|a| other.intervals.iter().any(|b| !a.intersect(b).is_empty()))
    }

    /// Whether the version is in the range; a string that is not a version is in no range.
    pub fn contains(&self, version: &str) -> bool {
        Version::parse(version).is_ok_and(|v| self.contains_version(&v))
    }

    pub fn contains_version(&self, version: &Version) -> bool {
        self.intervals.iter().any(|i| i.contains(version))
    }

    pub fn is_all(&self) -> bool {
        self.intervals == [Interval::ALL]
    }

    /// The version that fixes the last affected interval: its exclusive upper bound, when there is one
    /// (`>=1.2.0, <1.4.3` → `1.4.3`; `<=1.4.2` and `>=1.2` → none).
    pub fn fixed_in(&self) -> Option<&Version> {
        match &self.intervals.last()?.upper {
            Bound::Excluded(v) => Some(v),
            _ => None,
        }
    }

    /// The intervals, ascending, each as its lower and upper edge (for writers of other range formats).
    pub fn intervals(&self) -> impl Iterator<Item = (Edge<'_>, Edge<'_>)> {
        self.intervals
            .iter()
            .map(|i| (Edge::of(&i.lower), Edge::of(&i.upper)))
    }

    /// Every interval's exclusive upper bound, ascending (`>=1.0, <1.2 || >=2.0, <2.1` → `1.2`, `2.1`).
    pub fn fixed_versions(&self) -> Vec<&Version> {
        self.intervals
            .iter()
            .filter_map(|i| match &i.upper {
                Bound::Excluded(v) => Some(v),
                _ => None,
            })
            .collect()
    }
}

/// `>=1.2.0, <1.4.3` or `>= 1.2.0 <1.4.3`: every comparator must hold.
fn parse_conjunction(text: &str) -> Result<Vec<Interval>, ProductError> {
    if text.is_empty() {
        return Err(invalid("an alternative of the version range is empty"));
    }
    if text == "*" {
        return Ok(vec![Interval::ALL]);
    }
    let mut set = vec![Interval::ALL];
    let mut count = 0;
    for piece in text.split(',').map(str::trim) {
        if piece.is_empty() {
            return Err(invalid(format!(
                "`{text}` has an empty comparator between commas"
            )));
        }
        let mut pending_op: Option<&str> = None;
        for token in piece.split_whitespace() {
            if token.chars().all(|c| "<>=!".contains(c)) && pending_op.is_none() {
                pending_op = Some(token);
                continue;
            }
            let comparator = match pending_op.take() {
                Some(op) => format!("{op}{token}"),
                None => token.to_owned(),
            };
            let (op, v) = parse_comparator(&comparator)?;
            set = intersect(&set, &comparator_set(op, v));
            count += 1;
            if count > MAX_PARTS {
                return Err(invalid(format!(
                    "a version range has at most {MAX_PARTS} comparators"
                )));
            }
        }
        if let Some(op) = pending_op {
            return Err(invalid(format!("the comparator `{op}` has no version")));
        }
    }
    Ok(set)
}

/// `vers:<scheme>/<constraint>|<constraint>…`, read as the `vers` specification does.
fn parse_vers(text: &str) -> Result<Vec<Interval>, ProductError> {
    let Some((scheme, constraints)) = text.split_once('/') else {
        return Err(invalid("a `vers` range is `vers:<scheme>/<constraints>`"));
    };
    let scheme_ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".+-".contains(c));
    if !scheme_ok {
        return Err(invalid(format!("`{scheme}` is not a `vers` versioning scheme")));
    }
    let constraints = constraints.trim();
    if constraints == "*" {
        return Ok(vec![Interval::ALL]);
    }
    let mut parsed = Vec::new();
    for c in constraints.split('|').map(str::trim) {
        if c.is_empty() {
            return Err(invalid("a `vers` range has an empty constraint"));
        }
        parsed.push(parse_comparator(c)?);
        if parsed.len() > MAX_PARTS {
            return Err(invalid(format!(
                "a version range has at most {MAX_PARTS} comparators"
            )));
        }
    }
    parsed.sort_by(|a, b| a.1.cmp(&b.1));
    let twice = parsed.windows(2).find_map(|w| match w {
        [(_, a), (_, b)] if a == b => Some(a),
        _ => None,
    });
    if let Some(v) = twice {
        return Err(invalid(format!(
            "the version `{v}` appears twice in the `vers` range"
        )));
    }
    let mut intervals = Vec::new();
    let mut excluded = Vec::new();
    let mut lower: Option<Bound> = None;
    let mut seen_range = false;
    for (op, v) in parsed {
        match op {
            Op::Eq => intervals.push(Interval {
                lower: Bound::Included(v.clone()),
                upper: Bound::Included(v),
            }),
            Op::Ne => excluded.push(v),
            Op::Ge | Op::Gt => {
                if lower.is_some() {
                    return Err(invalid(format!(
                        "`vers` constraints must alternate: two lower bounds before `{v}`"
                    )));
                }
                lower = Some(if op == Op::Ge {
                    Bound::Included(v)
                } else {
                    Bound::Excluded(v)
                });
            }
            Op::Le | Op::Lt => {
                let upper = if op == Op::Le {
                    Bound::Included(v)
                } else {
                    Bound::Excluded(v)
                };
                match lower.take() {
                    Some(lower) => intervals.push(Interval { lower, upper }),
                    None if !seen_range => intervals.push(Interval {
                        lower: Bound::Unbounded,
                        upper,
                    }),
                    None => {
                        return Err(invalid(
                            "`vers` constraints must alternate: two upper bounds in a row",
                        ));
                    }
                }
            }
        }
        seen_range |= !matches!(op, Op::Eq | Op::Ne);
    }
    if let Some(lower) = lower {
        intervals.push(Interval {
            lower,
            upper: Bound::Unbounded,
        });
    }
    let mut set = if intervals.is_empty() {
        vec![Interval::ALL]
    } else {
        normalise(intervals)
    };
    for v in excluded {
        set = intersect(&set, &comparator_set(Op::Ne, v));
    }
    Ok(set)
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, interval) in self.intervals.iter().enumerate() {
            if i > 0 {
                f.write_str(" || ")?;
            }
            write!(f, "{interval}")?;
        }
        Ok(())
    }
}
