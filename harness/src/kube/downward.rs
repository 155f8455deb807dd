//! kubelet's downward-API volume: the `metadata.annotations` file in kubelet's format and
//! its atomic-writer layout, so that the pod reads exactly what a node would show it.
//!
//! Format (`FormatMap`): keys sorted, one `key="value"` line each, the value quoted as Go's
//! `strconv.Quote` does, lines joined by `\n` with no trailing newline. Layout: the files
//! live in a hidden `..YYYY_MM_DD_HH_MM_SS.<random>` directory, `..data` is a symlink to
//! it and every visible name is a symlink `name -> ..data/name`; an update writes a new
//! directory, points `..data_tmp` at it and renames that over `..data` (one atomic step
//! for the reader), then removes the old directory. Hand-written: no crate renders it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::Result;

/// Go's `strconv.Quote`: the value between double quotes, escaped.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            ' ' => out.push(' '),
            c if c.is_control() || c.is_whitespace() || is_format(c) => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Format characters Go does not print (the common ones: zero-width and direction marks).
fn is_format(c: char) -> bool {
    matches!(c as u32, 0xad | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0xfeff)
}

/// The `metadata.annotations` (or `labels`) file content.
pub fn format_map(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads a file back (the inverse of [`format_map`] for what it writes), for checks.
pub fn parse_map(text: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=')?;
        out.insert(k.to_string(), go_unquote(v)?);
    }
    Some(out)
}

fn go_unquote(q: &str) -> Option<String> {
    let inner = q.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let hex = |chars: &mut std::str::Chars, n: usize| -> Option<char> {
            let s: String = chars.by_ref().take(n).collect();
            char::from_u32(u32::from_str_radix(&s, 16).ok()?)
        };
        out.push(match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            'a' => '\x07',
            'b' => '\x08',
            'f' => '\x0c',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\x0b',
            'x' => hex(&mut chars, 2)?,
            'u' => hex(&mut chars, 4)?,
            'U' => hex(&mut chars, 8)?,
            _ => return None,
        });
    }
    Some(out)
}

/// Writes `files` (name -> content) into the volume directory `dir` the way kubelet's
/// atomic writer does; does nothing when the content is unchanged. Returns whether it
/// wrote.
pub fn write_atomic(dir: &Path, files: &BTreeMap<String, String>) -> Result<bool> {
    std::fs::create_dir_all(dir)?;
    let data = dir.join("..data");
    let current = std::fs::read_link(&data).ok();
    if let Some(cur) = &current {
        let same = files.iter().all(|(name, content)| {
            std::fs::read_to_string(dir.join(cur).join(name)).is_ok_and(|c| &c == content)
        });
        if same {
            return Ok(false);
        }
    }
    let ts_dir = tempfile::Builder::new()
        .prefix(&format!("..{}.", timestamp()))
        .rand_bytes(9)
        .tempdir_in(dir)?
        .keep();
    for (name, content) in files {
        std::fs::write(ts_dir.join(name), content)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(ts_dir.join(name), std::fs::Permissions::from_mode(0o644))?;
    }
    std::fs::set_permissions(&ts_dir, {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(0o755)
    })?;
    let ts_name = ts_dir.file_name().expect("name").to_owned();
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&ts_name, &tmp)?;
    std::fs::rename(&tmp, &data)?;
    for name in files.keys() {
        let link = dir.join(name);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(name), &link)?;
        }
    }
    if let Some(old) = current {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(true)
}

/// UTC now as Go's `2006_01_02_15_04_05`.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}_{m:02}_{d:02}_{:02}_{:02}_{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case("plain", r#""plain""#)]
    #[case("a \"b\" \\c", r#""a \"b\" \\c""#)]
    #[case("[{\n    \"name\": 1}]", r#""[{\n    \"name\": 1}]""#)]
    #[case("\t\r\x07\x08\x0c\x0b", r#""\t\r\a\b\f\v""#)]
    #[case("\x01\x7f", r#""\x01\x7f""#)]
    #[case("caf\u{e9} \u{a0}", "\"caf\u{e9} \\u00a0\"")]
    fn quotes_as_go(#[case] raw: &str, #[case] quoted: &str) {
        assert_eq!(go_quote(raw), quoted);
    }

    #[test]
    fn map_is_sorted_without_trailing_newline() {
        let map: BTreeMap<String, String> = [
            (
                "k8s.v1.cni.cncf.io/networks".to_string(),
                "net-a".to_string(),
            ),
            ("a".into(), "x\ny".into()),
        ]
        .into();
        assert_eq!(
            format_map(&map),
            "a=\"x\\ny\"\nk8s.v1.cni.cncf.io/networks=\"net-a\""
        );
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(
            map in proptest::collection::btree_map("[a-z./-]{1,12}", any::<String>(), 0..5)
        ) {
            prop_assert_eq!(parse_map(&format_map(&map)), Some(map));
        }
    }

    #[test]
    fn atomic_layout_and_update() {
        let t = tempfile::tempdir().unwrap();
        let files = |v: &str| -> BTreeMap<String, String> {
            [("annotations".to_string(), v.to_string())].into()
        };
        assert!(write_atomic(t.path(), &files("one")).unwrap());
        let first = std::fs::read_link(t.path().join("..data")).unwrap();
        assert!(first.to_string_lossy().starts_with(".."));
        assert_eq!(
            std::fs::read_link(t.path().join("annotations")).unwrap(),
            Path::new("..data/annotations")
        );
        assert_eq!(
            std::fs::read_to_string(t.path().join("annotations")).unwrap(),
            "one"
        );
        assert!(!write_atomic(t.path(), &files("one")).unwrap());
        assert!(write_atomic(t.path(), &files("two")).unwrap());
        assert_eq!(
            std::fs::read_to_string(t.path().join("annotations")).unwrap(),
            "two"
        );
        assert!(!t.path().join(&first).exists(), "old directory removed");
        let entries = std::fs::read_dir(t.path()).unwrap().count();
        assert_eq!(entries, 3, "timestamped dir, ..data, annotations");
    }

    #[test]
    fn timestamp_shape() {
        let ts = timestamp();
        assert_eq!(ts.len(), 19, "{ts}");
        assert!(ts.starts_with("20"), "{ts}");
    }
}
