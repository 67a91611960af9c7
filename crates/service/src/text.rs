//! Free text in requests: the limits, the check, and the OpenAPI schema that publishes them,
//! so a client is told exactly what the server refuses.

use crate::ServiceError;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Type};

/// Names of people, operations, cities, officers and courses.
pub const SHORT: usize = 200;
/// A charge or a designation's scope.
pub const MEDIUM: usize = 500;
/// Reasons, notes, bases of decisions, source URLs.
pub const LONG: usize = 2000;
/// Most names a subject may have.
pub const NAMES_MAX: usize = 20;
/// What [`check`] refuses besides length, as a JSON Schema pattern: control characters (C0,
/// DEL and C1, Rust's `char::is_control`).
pub const PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// Checks one free-text field: at most `max` characters, no control characters.
pub(crate) fn check(field: &str, v: &str, max: usize) -> Result<(), ServiceError> {
    if v.chars().count() > max {
        return Err(ServiceError::invalid(format!("{field} is longer than {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(ServiceError::invalid(format!("{field} contains a control character")));
    }
    Ok(())
}

fn schema(max: usize) -> Object {
    ObjectBuilder::new().schema_type(Type::String).max_length(Some(max)).pattern(Some(PATTERN)).build()
}

pub(crate) fn short() -> Object {
    schema(SHORT)
}

pub(crate) fn medium() -> Object {
    schema(MEDIUM)
}

pub(crate) fn long() -> Object {
    schema(LONG)
}

/// A subject's names: 1 to [`NAMES_MAX`] short texts.
pub(crate) fn names() -> utoipa::openapi::schema::Array {
    ArrayBuilder::new().items(short()).min_items(Some(1)).max_items(Some(NAMES_MAX)).build()
}

#[cfg(test)]
mod tests {
    /// The published pattern refuses exactly the characters `check` refuses.
    #[test]
    fn the_pattern_is_the_check() {
        let re = regex::Regex::new(super::PATTERN).unwrap();
        for c in (0u32..0x300).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            assert_eq!(re.is_match(&s), super::check("f", &s, 10).is_ok(), "{c:?}");
        }
    }
}
