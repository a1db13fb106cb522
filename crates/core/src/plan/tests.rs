//! Unit tests of the planner's internals. The rules of `shared/design/safety.md`, each on a
//! small cluster brought to convergence by the model, are tested in the model's crate
//! (`crates/sim/tests/plan_rules.rs`): the model depends on this crate, so its tests cannot
//! live here.

#[test]
fn a_pinned_digest_is_not_read_as_marathon_s_version() {
    // Digest pinning writes `tag@sha256:…`; the downgrade guard must still see the tag.
    let pinned = format!("reg:5000/marathon:1.10.26@sha256:{}", "ab".repeat(32));
    assert_eq!(super::marathon::tag_version(&pinned), Some(vec![1, 10, 26]));
    assert_eq!(
        super::marathon::tag_version("marathon:1.10.17"),
        Some(vec![1, 10, 17])
    );
}
