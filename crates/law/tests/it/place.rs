//! Places from coordinates: county, state and time zone on the real outlines, and points
//! outside the United States refused.

use law::place::{Place, PlaceError, Places};

fn at(lat: f64, lon: f64) -> Place {
    Places::bundled().locate(lat, lon).unwrap_or_else(|e| panic!("({lat}, {lon}): {e}"))
}

#[test]
fn every_county_of_the_outlines_is_read_with_its_state() {
    let p = Places::bundled();
    assert_eq!(p.counties(), 3231);
    assert_eq!(p.county("48141"), Some(("El Paso", "TX")));
    assert_eq!(p.county("72127"), Some(("San Juan", "PR")));
}

/// Issue 11: El Paso defaulted to Central time; it keeps Mountain time, as do Hudspeth
/// County and the Navajo Nation inside Arizona, which (unlike the rest of Arizona) observes
/// daylight time.
#[test]
fn split_time_zone_places_get_their_own_zone() {
    let cases = [
        (31.7619, -106.4850, "TX", "48141", "America/Denver"),  // El Paso
        (31.1600, -105.3800, "TX", "48229", "America/Denver"),  // Sierra Blanca, Hudspeth County
        (29.7604, -95.3698, "TX", "48201", "America/Chicago"),  // Houston
        (33.4484, -112.0740, "AZ", "04013", "America/Phoenix"), // Phoenix
        (36.1350, -111.2399, "AZ", "04005", "America/Denver"),  // Tuba City, Navajo Nation
        (43.6150, -116.2023, "ID", "16001", "America/Boise"),   // Boise (Mountain)
        (46.4166, -117.0177, "ID", "16069", "America/Los_Angeles"), // Lewiston (Pacific)
        (30.4383, -84.2807, "FL", "12073", "America/New_York"), // Tallahassee
        (30.4213, -87.2169, "FL", "12033", "America/Chicago"),  // Pensacola
        (38.2527, -85.7585, "KY", "21111", "America/Kentucky/Louisville"),
        (37.0834, -88.6001, "KY", "21145", "America/Chicago"), // Paducah
        (39.7684, -86.1581, "IN", "18097", "America/Indiana/Indianapolis"),
        (41.5934, -87.3464, "IN", "18089", "America/Chicago"), // Gary
        (42.3314, -83.0458, "MI", "26163", "America/Detroit"),
        (45.1078, -87.6143, "MI", "26109", "America/Menominee"),
        (46.8083, -100.7837, "ND", "38015", "America/Chicago"), // Bismarck
        (46.8792, -102.7896, "ND", "38089", "America/Denver"),  // Dickinson
        (44.3683, -100.3510, "SD", "46065", "America/Chicago"), // Pierre
        (44.0805, -103.2310, "SD", "46103", "America/Denver"),  // Rapid City
        (41.2565, -95.9345, "NE", "31055", "America/Chicago"),  // Omaha
        (41.8666, -103.6672, "NE", "31157", "America/Denver"),  // Scottsbluff
        (37.6872, -97.3301, "KS", "20173", "America/Chicago"),  // Wichita
        (38.0803, -101.7550, "KS", "20075", "America/Denver"),  // Syracuse, Hamilton County
        (44.0582, -121.3153, "OR", "41017", "America/Los_Angeles"), // Bend
        (44.0266, -116.9629, "OR", "41045", "America/Boise"),   // Ontario, Malheur County
        (35.9606, -83.9207, "TN", "47093", "America/New_York"), // Knoxville
        (36.1627, -86.7816, "TN", "47037", "America/Chicago"),  // Nashville
        (61.2181, -149.9003, "AK", "02020", "America/Anchorage"),
        (51.8800, -176.6581, "AK", "02016", "America/Adak"),
        (21.3069, -157.8583, "HI", "15003", "Pacific/Honolulu"),
        (18.4655, -66.1057, "PR", "72127", "America/Puerto_Rico"),
        (32.7157, -117.1611, "CA", "06073", "America/Los_Angeles"), // San Diego
    ];
    for (lat, lon, state, fips, zone) in cases {
        let p = at(lat, lon);
        assert_eq!(
            (p.state.as_str(), p.county_fips.as_str(), p.time_zone.as_str()),
            (state, fips, zone),
            "({lat}, {lon}) {p:?}"
        );
    }
}

#[test]
fn points_in_mexico_canada_or_beyond_the_territorial_sea_are_outside() {
    for (lat, lon) in [
        (32.5149, -117.0382), // Tijuana
        (31.6904, -106.4245), // Ciudad Juárez
        (25.8690, -97.5027),  // Matamoros
        (49.2827, -123.1207), // Vancouver
        (42.3149, -83.0364),  // Windsor, Ontario
        (31.5000, -119.0000), // 90 miles off San Diego
        (44.0000, -125.0000), // 40 nautical miles off Oregon
        (0.0, 0.0),
    ] {
        match Places::bundled().locate(lat, lon) {
            Err(PlaceError::OutsideUs { .. }) => {}
            Ok(p) => panic!("({lat}, {lon}) is outside the US, got {p:?}"),
        }
    }
}

#[test]
fn a_point_in_the_territorial_sea_takes_the_nearest_county() {
    // About 5 miles off Point Loma, San Diego.
    let p = at(32.70, -117.35);
    assert_eq!((p.state.as_str(), p.county_fips.as_str()), ("CA", "06073"));
    assert!(p.off_outline);
}

/// The county-wide zone shortcut agrees with looking up the point itself: on a grid over the
/// United States, every point's zone is the same either way.
#[test]
fn the_county_zone_shortcut_agrees_with_the_point_lookup() {
    let p = Places::bundled();
    let (mut checked, split) = (0, p.split_zone_counties().len());
    for i in 0..120 {
        for j in 0..60 {
            let (lat, lon) = (24.5 + j as f64 * 0.42, -124.5 + i as f64 * 0.48);
            if let Ok(place) = p.locate(lat, lon) {
                assert_eq!(place.time_zone, p.time_zone(lat, lon), "({lat}, {lon}) {place:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 3000, "{checked}");
    assert!((1..400).contains(&split), "{split} counties touch two zones");
}
