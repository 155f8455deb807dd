//! Fault injection for tests of Kubernetes clients: `--fault ACTION:VERB/RESOURCE[:N[:CODE[/SECONDS]]]`
//! makes the Nth request of VERB (`get`, `list`, `watch`, `create`, `update`, `patch`,
//! `delete`) on RESOURCE (`pods`, `pods/status`, `configmaps`, ...; `*` for any resource
//! request) fail with the `Status` the real server sends for CODE (500 by default; with
//! `/SECONDS`, a `Retry-After` header too) and change nothing, stall (no answer),
//! drop the connection, or exit the process. Discovery and OpenAPI requests are not
//! counted, so rules stay independent of what a client caches.

use std::str::FromStr;

/// The HTTP status (and `Retry-After`) a failed request answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: u16,
    pub retry_after: Option<u32>,
}

impl FromStr for Code {
    type Err = String;

    fn from_str(s: &str) -> Result<Code, String> {
        let (c, r) = match s.split_once('/') {
            Some((c, r)) => (c, Some(r.parse().map_err(|_| s.to_string())?)),
            None => (s, None),
        };
        let code: u16 = c.parse().map_err(|_| s.to_string())?;
        if !(400..=599).contains(&code) {
            return Err(s.to_string());
        }
        Ok(Code {
            code,
            retry_after: r,
        })
    }
}

impl mock_faults::Failure for Code {
    const NAME: &'static str = "VERB/RESOURCE";
    const PAYLOAD: &'static str = "CODE[/RETRY_AFTER]";

    fn unspecified() -> Code {
        Code {
            code: 500,
            retry_after: None,
        }
    }
}

pub type Action = mock_faults::Action<Code>;
pub type Fault = mock_faults::Fault<Code>;
pub type Faults = mock_faults::Faults<Code>;

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("fail:patch/pods:1:409", Action::Fail(Code { code: 409, retry_after: None }))]
    #[case("fail:get/pods:2:429/1", Action::Fail(Code { code: 429, retry_after: Some(1) }))]
    #[case("fail:*", Action::Fail(Code { code: 500, retry_after: None }))]
    #[case("stall:update/pods/status", Action::Stall)]
    fn parses(#[case] text: &str, #[case] want: Action) {
        assert_eq!(text.parse::<Fault>().unwrap().action, want);
    }

    #[rstest]
    #[case("fail:patch/pods:1:200")]
    #[case("fail:patch/pods:1:409/x")]
    fn rejects(#[case] text: &str) {
        let e = text.parse::<Fault>().unwrap_err();
        assert!(e.contains("VERB/RESOURCE"), "{e}");
    }
}
