//! VPP's `format` field widths: `%-Ns` left, `%=Ns` centred (the odd space
//! goes left). Text longer than its field is cut to the field, as vppinfra's `justify`
//! does (so `Learn-count` in an 8-wide column prints as `Learn-co`).

fn fit(s: &str, width: usize) -> (&str, usize) {
    match s.char_indices().nth(width) {
        Some((cut, _)) => (&s[..cut], 0),
        None => (s, width - s.chars().count()),
    }
}

pub fn left(s: &str, width: usize) -> String {
    let (s, pad) = fit(s, width);
    format!("{s}{}", " ".repeat(pad))
}

pub fn center(s: &str, width: usize) -> String {
    let (s, pad) = fit(s, width);
    let l = pad - pad / 2;
    format!("{}{s}{}", " ".repeat(l), " ".repeat(pad / 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("up", 5, "  up ")]
    #[case("down", 10, "   down   ")]
    #[case("Learn-count", 8, "Learn-co")]
    #[case("", 3, "   ")]
    fn centred(#[case] s: &str, #[case] w: usize, #[case] want: &str) {
        assert_eq!(center(s, w), want);
    }

    #[test]
    fn left_aligned() {
        assert_eq!(left("local0", 8), "local0  ");
        assert_eq!(left("toolongname", 4), "tool");
    }
}
