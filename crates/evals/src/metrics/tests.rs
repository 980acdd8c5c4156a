use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-4
}

#[test]
fn summaries_match_hand_computed_values() {
    // (values, accuracy, stderr, wilson low, wilson high), computed by hand with z = 1.96.
    let cases: [(&[f64], f64, f64, f64, f64); 5] = [
        (&[1.0, 0.0, 1.0, 1.0], 0.75, 0.25, 0.30064, 0.95441),
        (&[0.0; 10], 0.0, 0.0, 0.0, 0.27753),
        (&[1.0; 10], 1.0, 0.0, 0.72247, 1.0),
        (&[1.0], 1.0, 0.0, 0.20655, 1.0),
        (&[0.5, 0.5], 0.5, 0.0, 0.09453, 0.90547),
    ];
    for (values, accuracy, stderr, low, high) in cases {
        let s = Summary::of(values).unwrap();
        assert_eq!(s.n, values.len());
        assert!(close(s.accuracy, accuracy), "{values:?}: accuracy {}", s.accuracy);
        assert!(close(s.stderr, stderr), "{values:?}: stderr {}", s.stderr);
        assert!(close(s.ci_low, low), "{values:?}: low {}", s.ci_low);
        assert!(close(s.ci_high, high), "{values:?}: high {}", s.ci_high);
    }
    assert_eq!(Summary::of(&[]), None);
}

#[test]
fn pass_at_k_is_the_unbiased_estimate() {
    // (n, c, k, expected): 1 − C(n−c, k)/C(n, k).
    let cases = [
        (5, 2, 2, Some(0.7)),
        (5, 0, 1, Some(0.0)),
        (5, 5, 3, Some(1.0)),
        (10, 3, 1, Some(0.3)),
        (4, 1, 4, Some(1.0)),
        (200, 1, 100, Some(0.5)),
        (3, 1, 0, None),
        (3, 1, 4, None),
        (3, 4, 1, None),
    ];
    for (n, c, k, expected) in cases {
        let got = pass_at_k(n, c, k);
        match (got, expected) {
            (Some(g), Some(e)) => assert!(close(g, e), "pass@{k} of {c}/{n}: {g}"),
            (g, e) => assert_eq!(g, e, "pass@{k} of {c}/{n}"),
        }
    }
}

#[test]
fn reducers_turn_epochs_into_one_value() {
    let cases: [(Reducer, &[f64], Option<f64>); 12] = [
        (Reducer::Mean, &[1.0, 0.0, 1.0], Some(2.0 / 3.0)),
        (Reducer::Max, &[0.0, 0.5, 0.0], Some(0.5)),
        (Reducer::Mode, &[0.0, 1.0, 1.0], Some(1.0)),
        (Reducer::Mode, &[1.0, 0.0], Some(0.0)),
        (Reducer::PassAtK(2), &[1.0, 0.0, 0.0], Some(2.0 / 3.0)),
        (Reducer::PassAtK(4), &[1.0, 0.0, 0.0], None),
        (Reducer::AtLeastK(2), &[1.0, 0.0, 1.0], Some(1.0)),
        (Reducer::AtLeastK(3), &[1.0, 0.0, 1.0], Some(0.0)),
        (Reducer::AtLeastK(1), &[0.5, 0.5], Some(0.0)),
        (Reducer::Mean, &[], None),
        (Reducer::Max, &[], None),
        (Reducer::PassAtK(1), &[], None),
    ];
    for (reducer, epochs, expected) in cases {
        let got = reducer.reduce(epochs);
        match (got, expected) {
            (Some(g), Some(e)) => assert!(close(g, e), "{reducer:?} of {epochs:?}: {g}"),
            (g, e) => assert_eq!(g, e, "{reducer:?} of {epochs:?}"),
        }
    }
}

#[test]
fn reducer_names_round_trip_and_reject_nonsense() {
    for r in [
        Reducer::Mean,
        Reducer::Max,
        Reducer::Mode,
        Reducer::PassAtK(5),
        Reducer::AtLeastK(2),
    ] {
        assert_eq!(Reducer::parse(&r.name()), Some(r));
    }
    for bad in ["", "median", "pass_at_", "pass_at_0", "at_least_x", "pass_at_-1"] {
        assert_eq!(Reducer::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn grouping_summarises_each_metadata_value() {
    let groups = grouped([
        (Some("easy"), 1.0),
        (Some("hard"), 0.0),
        (Some("easy"), 1.0),
        (None, 0.0),
        (Some("hard"), 1.0),
    ]);
    let keys: Vec<_> = groups.keys().cloned().collect();
    assert_eq!(keys, [None, Some("easy".into()), Some("hard".into())]);
    assert_eq!(groups[&Some("easy".to_string())].accuracy, 1.0);
    assert_eq!(groups[&Some("hard".to_string())].n, 2);
    assert_eq!(groups[&Some("hard".to_string())].accuracy, 0.5);
}

#[test]
fn paired_differences_match_hand_computed_values() {
    // (pairs as (A, B), n, mean A, mean B, mean difference B − A, stderr, (both, only A, only B, neither)).
    // Differences of the first case: 0, 1, 0, −1, 1, 0 → mean 1/6; squared deviations sum to 102/36, so the
    // sample variance is 102/36/5 = 0.56667 and the stderr √(0.56667/6) = 0.30732.
    type Case = (
        &'static [(f64, f64)],
        usize,
        f64,
        f64,
        f64,
        f64,
        (usize, usize, usize, usize),
    );
    let cases: [Case; 6] = [
        (
            &[
                (1.0, 1.0),
                (0.0, 1.0),
                (0.0, 0.0),
                (1.0, 0.0),
                (0.0, 1.0),
                (1.0, 1.0),
            ],
            6,
            0.5,
            0.66667,
            0.16667,
            0.30732,
            (2, 1, 2, 1),
        ),
        // Identical runs: no difference, no spread.
        (
            &[(1.0, 1.0), (0.0, 0.0), (1.0, 1.0)],
            3,
            0.66667,
            0.66667,
            0.0,
            0.0,
            (2, 0, 0, 1),
        ),
        // A single pair: its difference, and no standard error from one value.
        (&[(0.0, 1.0)], 1, 0.0, 1.0, 1.0, 0.0, (0, 0, 1, 0)),
        // B always right where A never is.
        (&[(0.0, 1.0), (0.0, 1.0)], 2, 0.0, 1.0, 1.0, 0.0, (0, 0, 2, 0)),
        // Partial credit counts in the means but is not "right": differences 0.5, −0.5 → stderr 0.5.
        (&[(0.5, 1.0), (1.0, 0.5)], 2, 0.75, 0.75, 0.0, 0.5, (0, 1, 1, 0)),
        // Differences 1, 1, 1, −1: mean 0.5, variance 1, stderr 0.5.
        (
            &[(0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (1.0, 0.0)],
            4,
            0.25,
            0.75,
            0.5,
            0.5,
            (0, 1, 3, 0),
        ),
    ];
    for (pairs, n, mean_a, mean_b, diff, stderr, counts) in cases {
        let p = paired(pairs).unwrap();
        assert_eq!(p.n, n, "{pairs:?}");
        assert!(close(p.mean_a, mean_a), "{pairs:?}: mean A {}", p.mean_a);
        assert!(close(p.mean_b, mean_b), "{pairs:?}: mean B {}", p.mean_b);
        assert!(
            close(p.mean_difference, diff),
            "{pairs:?}: difference {}",
            p.mean_difference
        );
        assert!(close(p.stderr, stderr), "{pairs:?}: stderr {}", p.stderr);
        assert!(
            close(p.ci_low, diff - 1.959964 * stderr),
            "{pairs:?}: low {}",
            p.ci_low
        );
        assert!(
            close(p.ci_high, diff + 1.959964 * stderr),
            "{pairs:?}: high {}",
            p.ci_high
        );
        assert_eq!(
            (p.both_right, p.only_a, p.only_b, p.both_wrong),
            counts,
            "{pairs:?}"
        );
    }
    // No overlap: nothing to compare.
    assert_eq!(paired(&[]), None);
    // The first case's interval, by hand: 0.16667 ± 0.60233.
    let p = paired(cases[0].0).unwrap();
    assert!(close(p.ci_low, -0.43566) && close(p.ci_high, 0.76900), "{p:?}");
}
