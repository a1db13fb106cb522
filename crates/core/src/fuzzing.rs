//! What each fuzz target (`fuzz/`) feeds its input to, defined once so that the fuzzers,
//! the replay of the inputs they found (`tests/fuzz_regressions.rs`) and the property tests
//! exercise exactly the same code. Each function must return for every input; a panic is
//! the bug.

use std::collections::BTreeMap;

/// A document from a user or a pipeline: parsed, then validated alone and against itself.
pub fn document(data: &[u8]) {
    if let Ok(doc) = crate::spec::parse_document_bytes(data) {
        let _ = crate::spec::validate(&doc, None);
        let _ = crate::spec::validate(&doc, Some(&doc));
        let _ = crate::desired::Desired::from_document(&doc);
    }
}

/// Text from a ZooKeeper port.
pub fn zk_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let host_of = BTreeMap::from([("10.0.0.1".to_string(), "h1".to_string())]);
    let _ = crate::zk_text::parse_conf(&text);
    let _ = crate::zk_text::parse_srvr_mode(&text);
    let _ = crate::zk_text::parse_zk_config(&text, &host_of);
}

/// Values from etcd: the status, the record, the spec.
pub fn decoders(data: &[u8]) {
    let _ = serde_json::from_slice::<crate::status::ClusterStatus>(data);
    let _ = serde_json::from_slice::<crate::record::Recorded>(data);
    if let Ok(doc) = serde_json::from_slice::<crate::spec::MesosCluster>(data) {
        let _ = crate::spec::validate(&doc, None);
    }
}
