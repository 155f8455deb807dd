//! CNI spec versions this plugin speaks, and their ordering.

use std::fmt;

/// A `major.minor.patch` spec version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u16, pub u16, pub u16);

impl Version {
    pub const V0_1_0: Version = Version(0, 1, 0);
    pub const V0_2_0: Version = Version(0, 2, 0);
    pub const V0_3_0: Version = Version(0, 3, 0);
    pub const V0_3_1: Version = Version(0, 3, 1);
    pub const V0_4_0: Version = Version(0, 4, 0);
    pub const V1_0_0: Version = Version(1, 0, 0);
    pub const V1_1_0: Version = Version(1, 1, 0);

    /// Every version a netconf may name, oldest first. 0.1.0 and 0.2.0 are kept because
    /// the original plugin accepted them; their results carry only `ip4`/`ip6`.
    pub const SUPPORTED: [Version; 7] = [
        Version::V0_1_0,
        Version::V0_2_0,
        Version::V0_3_0,
        Version::V0_3_1,
        Version::V0_4_0,
        Version::V1_0_0,
        Version::V1_1_0,
    ];

    pub const LATEST: Version = Version::V1_1_0;

    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.split('.');
        let mut next = || -> Option<u16> {
            let p = parts.next()?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 4 {
                return None;
            }
            p.parse().ok()
        };
        let v = Version(next()?, next()?, next()?);
        parts.next().is_none().then_some(v)
    }

    pub fn is_supported(self) -> bool {
        Version::SUPPORTED.contains(&self)
    }

    /// Whether CHECK exists at this version.
    pub fn has_check(self) -> bool {
        self >= Version::V0_4_0
    }

    /// Whether GC and STATUS exist at this version.
    pub fn has_gc_and_status(self) -> bool {
        self >= Version::V1_1_0
    }

    pub fn supported_strings() -> Vec<String> {
        Version::SUPPORTED.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("0.3.1", Some(Version::V0_3_1))]
    #[case("1.1.0", Some(Version::V1_1_0))]
    #[case("1.0", None)]
    #[case("1.0.0.0", None)]
    #[case("v1.0.0", None)]
    #[case("1.-1.0", None)]
    #[case("", None)]
    fn parses(#[case] text: &str, #[case] want: Option<Version>) {
        assert_eq!(Version::parse(text), want);
    }

    #[test]
    fn order_and_features() {
        assert!(Version::V0_3_1 < Version::V0_4_0);
        assert!(!Version::V0_3_1.has_check());
        assert!(Version::V0_4_0.has_check());
        assert!(!Version::V1_0_0.has_gc_and_status());
        assert!(Version::V1_1_0.has_gc_and_status());
        assert!(!Version(0, 9, 9).is_supported());
    }
}
