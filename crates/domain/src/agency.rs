//! Agencies, their units and facilities.
//!
//! An agency is any party that coordinates through Liaison: DHS components, state and local
//! law enforcement, National Guard units, oversight bodies. Facilities are where custody is
//! held (jails, ICE facilities, hold rooms) with their bed capacity.

use crate::ids::{AgencyId, AorCode, FacilityId, Fips, Ori, StateCode};
use serde::{Deserialize, Serialize};

/// What kind of agency this is (reference.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    /// ICE Enforcement and Removal Operations, including its field offices (AORs).
    IceEro,
    /// ICE Homeland Security Investigations.
    IceHsi,
    /// U.S. Border Patrol (CBP), organized in sectors.
    CbpBorderPatrol,
    /// CBP Office of Field Operations (ports of entry).
    CbpOfo,
    /// A state or local law-enforcement agency (sheriff, police, state patrol, DOC).
    StateLocalLe,
    /// A National Guard unit (Title 32 unless stated otherwise).
    NationalGuard,
    /// An oversight body (DHS CRCL, DHS OIG, GAO, a state attorney general).
    Oversight,
}

impl AgencyKind {
    /// Whether this kind is a federal immigration agency (ICE or CBP).
    pub fn is_federal_immigration(self) -> bool {
        matches!(self, Self::IceEro | Self::IceHsi | Self::CbpBorderPatrol | Self::CbpOfo)
    }
}

/// An agency. `parent` links a field office to its directorate or a sector to Border Patrol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Agency {
    pub id: AgencyId,
    pub name: String,
    pub kind: AgencyKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<AgencyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ori: Option<Ori>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fips: Option<Fips>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ice_aor: Option<AorCode>,
    /// Border Patrol sector name as OHSS labels it (official sector codes were not found in a
    /// citable public source; reference/PROVENANCE.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usbp_sector: Option<String>,
    /// Where the agency operates, for field offices: states (`TX`) or counties
    /// (`TX/Harris County`), as ICE's area-of-responsibility table lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<String>,
}

impl Agency {
    /// An agency with its id, name and kind, and no other identifiers yet.
    pub fn new(id: AgencyId, name: impl Into<String>, kind: AgencyKind) -> Self {
        Agency {
            id,
            name: name.into(),
            kind,
            parent: None,
            state: None,
            ori: None,
            fips: None,
            ice_aor: None,
            usbp_sector: None,
            coverage: vec![],
        }
    }
}

/// What a facility is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FacilityKind {
    Jail,
    IceFacility,
    HoldRoom,
    BorderPatrolStation,
}

/// A place where custody is held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Facility {
    pub id: FacilityId,
    pub agency: AgencyId,
    pub name: String,
    pub kind: FacilityKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateCode>,
    /// Where the facility is: the law establishes the county, state, city and time zone of
    /// what happens there from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<crate::ids::LatLon>,
    pub beds: u32,
}
