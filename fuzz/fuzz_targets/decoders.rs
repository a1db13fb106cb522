//! What etcd holds: the status, the operator's record and the spec, as other tools may
//! have written them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mesos_operator_core::fuzzing::decoders(data);
});
