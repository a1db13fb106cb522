//! A document as users and pipelines hand it over: bytes, parsed and validated.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mesos_operator_core::fuzzing::document(data);
});
