//! The cluster document: types, reading, validation, and the small grammars inside it.

pub mod address;
pub mod document;
pub mod duration;
pub mod image;
pub mod neighbours;
pub mod parse;
pub mod secret_scope;
pub mod validate;

pub use document::*;
pub use neighbours::{conflicts_with_others, port_conflicts, PortConflict};
pub use parse::{parse_document, parse_document_bytes, ParseError};
pub use secret_scope::{scope_errors, secret_sites, SecretScope, SecretSite, SecretUse};
pub use validate::{validate, FieldError};

/// The JSON Schema (draft 2020-12) of the document, as committed in
/// `crds/mesoscluster.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(MesosCluster);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
