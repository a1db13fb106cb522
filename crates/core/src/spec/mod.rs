//! The cluster document: types, reading, validation, and the small grammars inside it.

pub mod document;
pub mod duration;
pub mod image;
pub mod parse;
pub mod validate;

pub use document::*;
pub use parse::{parse_document, ParseError};
pub use validate::{validate, FieldError};
