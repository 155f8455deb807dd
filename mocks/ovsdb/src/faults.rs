//! Fault injection for tests of OVSDB clients: `--fault ACTION:METHOD[:N[:ERROR]]` makes
//! the Nth request of METHOD (`transact`, `monitor_cond`, ... or `*`) fail with ERROR (a
//! `transact` then commits nothing), stall (no reply to it or anything after it on that
//! connection), drop the connection, or exit the process.

/// The error a failed request answers with (`not supported` when the rule gives none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorText(pub String);

impl std::str::FromStr for ErrorText {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<ErrorText, Self::Err> {
        Ok(ErrorText(s.to_string()))
    }
}

impl mock_faults::Failure for ErrorText {
    const NAME: &'static str = "METHOD";
    const PAYLOAD: &'static str = "ERROR";

    fn unspecified() -> ErrorText {
        ErrorText("not supported".into())
    }
}

pub type Action = mock_faults::Action<ErrorText>;
pub type Fault = mock_faults::Fault<ErrorText>;
pub type Faults = mock_faults::Faults<ErrorText>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_text_may_hold_colons_and_defaults_to_not_supported() {
        let f: Fault = "fail:transact:2:constraint violation: x".parse().unwrap();
        let want = ErrorText("constraint violation: x".into());
        assert_eq!(f.action, Action::Fail(want));
        let f: Fault = "fail:echo".parse().unwrap();
        assert_eq!(f.action, Action::Fail(ErrorText("not supported".into())));
        let e = "boom:transact".parse::<Fault>().unwrap_err();
        assert!(e.contains("ACTION:METHOD[:N[:ERROR]]"), "{e}");
    }
}
