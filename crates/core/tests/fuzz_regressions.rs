//! Every input the fuzzers found (and any other worth keeping) in `fuzz/regressions/<target>/`
//! goes through its target again, and arbitrary bytes go through every target: none may
//! panic.

use std::path::Path;

use mesos_operator_core::fuzzing;
use proptest::prelude::*;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 3] = [
    ("document", fuzzing::document),
    ("zk_text", fuzzing::zk_text),
    ("decoders", fuzzing::decoders),
];

#[test]
fn every_kept_fuzz_input_is_handled_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let mut replayed = 0;
    for (name, target) in TARGETS {
        let dir = root.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let data = std::fs::read(e.path()).unwrap();
            target(&data);
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no kept input under {}", root.display());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_a_fuzz_target(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for (_, target) in TARGETS {
            target(&data);
        }
    }
}
