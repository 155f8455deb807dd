//! Any request a client could send mock-kube (`METHOD PATH?QUERY`, a content type, a
//! body): routing, selectors, decoding, the three patch types and every verb never panic,
//! and every error is a `metav1.Status` carrying the HTTP code it is sent with.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mock_kube::api::{Api, Reply};
use mock_kube::request::Request;

fn api() -> &'static Api {
    static A: OnceLock<Api> = OnceLock::new();
    A.get_or_init(|| {
        let api = Api::new(
            mock_kube::store::Store::new(None),
            mock_kube::auth::Tokens::generate(),
            Default::default(),
        );
        api.bootstrap();
        api
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let line = parts.next().unwrap_or("");
    let content_type = parts.next().map(str::to_string);
    let body = parts.next().unwrap_or("").as_bytes().to_vec();
    let (method, target) = line.split_once(' ').unwrap_or(("GET", line));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let api = api();
    let req = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        accept: "application/json".into(),
        content_type,
        authorization: Some(format!(
            "Bearer {}",
            api.tokens.token("admin").unwrap_or("")
        )),
        body,
        insecure: false,
    };
    if let Reply::Json { code, body, .. } = api.handle(&req) {
        if code >= 400 {
            assert_eq!(body["kind"], "Status", "{body}");
            assert_eq!(body["code"], code, "{body}");
        }
    }
});
