//! Whatever answers on a ZooKeeper port: `conf`, `srvr` and the config node.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mesos_operator_core::fuzzing::zk_text(data);
});
