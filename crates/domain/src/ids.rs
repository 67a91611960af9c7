//! Identifiers, parsed at the edge and trusted afterwards.
//!
//! Each identifier type has a private field and a `parse` constructor that says what was
//! wrong with a bad input. Nothing here looks anything up: whether an id names a known
//! record is the state's question, not the parser's.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an identifier could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {input:?}: {reason}")]
pub struct IdError {
    pub kind: &'static str,
    pub input: String,
    pub reason: &'static str,
}

fn err(kind: &'static str, input: &str, reason: &'static str) -> IdError {
    IdError { kind, input: input.to_string(), reason }
}

/// Longest id Liaison accepts for its own record ids (`ID_BYTES_MAX`).
pub const ID_BYTES_MAX: usize = 128;

/// Each id type's OpenAPI schema is a string with the same pattern and length bounds as its
/// parser (`pattern`, `max`), so generated clients and contract tests refuse what the server does.
macro_rules! code_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $pattern:literal, $max:expr, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The regular expression every valid id matches (also the OpenAPI `pattern`).
            pub const PATTERN: &'static str = $pattern;
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(concat!("A ", $kind, ".")))
                    .pattern(Some($pattern))
                    .min_length(Some(1))
                    .max_length(Some($max))
                    .into()
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            pub fn parse(s: &str) -> Result<Self, IdError> {
                let check: fn(&str) -> Result<(), &'static str> = $check;
                check(s).map_err(|reason| err($kind, s, reason))?;
                Ok($name(s.to_string()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Record ids: 1..=128 bytes of ASCII letters, digits, `-`, `_`, `.` or `:`, starting with a
/// letter or digit.
macro_rules! record_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        code_id!($(#[$doc])* $name, $kind, "^[A-Za-z0-9][A-Za-z0-9._:-]*$", ID_BYTES_MAX, parse_record_id);
    };
}

fn parse_record_id(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("must not be empty");
    }
    if s.len() > ID_BYTES_MAX {
        return Err("longer than 128 bytes");
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if !s.chars().all(ok) {
        return Err("only ASCII letters, digits, '-', '_', '.' and ':' are allowed");
    }
    // `.` and `..` would read as path segments in every URL that names the record.
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with an ASCII letter or digit");
    }
    Ok(())
}

record_id!(/// An agency's Liaison id (e.g. `ICE-ERO`, `TX-HARRIS-COUNTY-SHERIFFS-OFFICE`).
    AgencyId, "agency id");
record_id!(/// A facility's Liaison id (a jail, an ICE processing center, a Border Patrol station hold room).
    FacilityId, "facility id");
record_id!(/// An officer's Liaison id.
    OfficerId, "officer id");
record_id!(/// A subject's Liaison id. Synthetic in all demo and test data.
    SubjectId, "subject id");
record_id!(/// An agreement's Liaison id (287(g) MOA, task-force MOU, detention contract).
    AgreementId, "agreement id");
record_id!(/// An encounter's Liaison id (one I-213-style record of an encounter or arrest).
    EncounterId, "encounter id");
record_id!(/// A custody handoff's Liaison id.
    HandoffId, "handoff id");
record_id!(/// A detainer's Liaison id (one I-247A).
    DetainerId, "detainer id");
record_id!(/// An operation's or deployment's Liaison id.
    OperationId, "operation id");
record_id!(/// A complaint's Liaison id.
    ComplaintId, "complaint id");

code_id!(
    /// Alien Registration Number (NIEM `im:AlienNumberIdentification`): `A` followed by 8 or 9
    /// digits, as printed on DHS forms (e.g. `A012345678`). Source: reference.md §9.
    ANumber,
    "A-number",
    "^A[0-9]{8,9}$",
    10,
    |s| {
        let digits = s.strip_prefix('A').ok_or("must start with 'A'")?;
        if !(8..=9).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be 'A' followed by 8 or 9 digits");
        }
        Ok(())
    }
);

code_id!(
    /// FBI Universal Control Number (UCN): 1 to 9 ASCII letters or digits.
    FbiNumber,
    "FBI number",
    "^[A-Za-z0-9]{1,9}$",
    9,
    |s| {
        if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("must be 1 to 9 ASCII letters or digits");
        }
        Ok(())
    }
);

code_id!(
    /// NCIC Originating Agency Identifier: 9 characters, the first two the state's postal code
    /// (e.g. `VTICE0900`, the LESC's ORI; reference.md §1).
    Ori,
    "ORI",
    "^[A-Z]{2}[A-Z0-9]{7}$",
    9,
    |s| {
        let b = s.as_bytes();
        if b.len() != 9 {
            return Err("must be exactly 9 characters");
        }
        if !b[..2].iter().all(u8::is_ascii_uppercase) {
            return Err("must start with a two-letter state code");
        }
        if !b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
            return Err("must be uppercase letters and digits");
        }
        Ok(())
    }
);

code_id!(
    /// FIPS code: 2 digits (state) or 5 digits (county).
    Fips,
    "FIPS code",
    "^([0-9]{2}|[0-9]{5})$",
    5,
    |s| {
        if !(s.len() == 2 || s.len() == 5) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be 2 (state) or 5 (county) digits");
        }
        Ok(())
    }
);

code_id!(
    /// ICE ERO Area of Responsibility code: three uppercase letters as in ICE's facility sheets
    /// (e.g. `ATL`, `SND`; reference/ice_aor_field_offices.csv).
    AorCode,
    "ICE AOR code",
    "^[A-Z]{3}$",
    3,
    |s| {
        if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err("must be three uppercase letters");
        }
        Ok(())
    }
);

code_id!(
    /// US state or territory postal code (`CA`, `TX`, `PR`).
    StateCode,
    "state code",
    "^[A-Z]{2}$",
    2,
    |s| {
        if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err("must be a two-letter uppercase postal code");
        }
        Ok(())
    }
);

/// A point on the Earth (WGS84 degrees). Liaison records where an encounter happened; it
/// never tracks where a person is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "LatLonRaw", deny_unknown_fields)]
pub struct LatLon {
    #[cfg_attr(feature = "openapi", schema(minimum = -90, maximum = 90))]
    lat: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = -180, maximum = 180))]
    lon: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LatLonRaw {
    lat: f64,
    lon: f64,
}

impl TryFrom<LatLonRaw> for LatLon {
    type Error = IdError;
    fn try_from(r: LatLonRaw) -> Result<Self, IdError> {
        LatLon::new(r.lat, r.lon)
    }
}

impl LatLon {
    pub fn new(lat: f64, lon: f64) -> Result<Self, IdError> {
        let text = format!("{lat},{lon}");
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(err("latitude", &text, "must be between -90 and 90"));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(err("longitude", &text, "must be between -180 and 180"));
        }
        Ok(LatLon { lat, lon })
    }
    pub fn lat(&self) -> f64 {
        self.lat
    }
    pub fn lon(&self) -> f64 {
        self.lon
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A location read back from the log is the same number that was written: replaying the
    /// log rebuilds the projection byte for byte. serde_json's default float parser is off by
    /// an ulp on some inputs (`-117.11685208125611` came back `...613`), so it runs with
    /// `float_roundtrip`; this fails without it.
    #[test]
    fn locations_survive_json_exactly() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut points = vec![LatLon::new(32.56063057843078, -117.11685208125611).unwrap()];
        for _ in 0..100_000 {
            points.push(LatLon::new(next() * 180.0 - 90.0, next() * 360.0 - 180.0).unwrap());
        }
        for p in points {
            let back: LatLon = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
            assert_eq!((back.lat().to_bits(), back.lon().to_bits()), (p.lat().to_bits(), p.lon().to_bits()), "{p:?}");
        }
    }

    #[test]
    fn parsers_name_what_was_wrong() {
        assert!(ANumber::parse("A012345678").is_ok());
        assert_eq!(
            ANumber::parse("012345678").unwrap_err().to_string(),
            "invalid A-number \"012345678\": must start with 'A'"
        );
        assert!(Ori::parse("VTICE0900").is_ok());
        assert!(Ori::parse("vtice0900").is_err());
        assert!(Fips::parse("06037").is_ok());
        assert!(Fips::parse("6037").is_err());
        assert!(AgencyId::parse("ICE-ERO").is_ok());
        assert!(AgencyId::parse("ICE ERO").is_err());
        assert!(AgencyId::parse("").is_err());
        assert!(LatLon::new(91.0, 0.0).is_err());
        assert!(serde_json::from_str::<LatLon>(r#"{"lat":32.7,"lon":-117.1}"#).is_ok());
        assert!(serde_json::from_str::<LatLon>(r#"{"lat":132.7,"lon":-117.1}"#).is_err());
        assert!(serde_json::from_str::<LatLon>(r#"{"lat":32.7,"lon":-117.1,"alt":3}"#).is_err());
    }

    /// Each id's published pattern accepts exactly what its parser accepts.
    #[test]
    fn patterns_agree_with_parsers() {
        fn agree<T>(pattern: &str, parse: fn(&str) -> Result<T, IdError>, samples: &[&str]) {
            let re = regex::Regex::new(pattern).unwrap();
            for s in samples {
                assert_eq!(re.is_match(s), parse(s).is_ok(), "{pattern} against {s:?}");
            }
        }
        let samples = [
            "",
            "A",
            "A01234567",
            "A012345678",
            "A0123456789",
            "a012345678",
            "S-1",
            ".",
            "..",
            "-x",
            "x.y:z_w-1",
            "ICE ERO",
            "VTICE0900",
            "vtice0900",
            "06",
            "06037",
            "6037",
            "SND",
            "snd",
            "CA",
            "C",
            "Ca",
            "ABC123DEF",
            "é",
            "x\n",
        ];
        let long = "x".repeat(129);
        agree(SubjectId::PATTERN, SubjectId::parse, &samples);
        assert!(SubjectId::parse(&long).is_err(), "the length bound is the schema's maxLength");
        agree(ANumber::PATTERN, ANumber::parse, &samples);
        agree(FbiNumber::PATTERN, FbiNumber::parse, &samples);
        agree(Ori::PATTERN, Ori::parse, &samples);
        agree(Fips::PATTERN, Fips::parse, &samples);
        agree(AorCode::PATTERN, AorCode::parse, &samples);
        agree(StateCode::PATTERN, StateCode::parse, &samples);
    }
}
