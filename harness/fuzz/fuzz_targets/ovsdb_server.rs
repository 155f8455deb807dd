//! Any bytes a client could send mock-ovsdb: the stream splitter, the JSON-RPC parser and
//! `transact` on the Open_vSwitch schema never panic, and every op gets its result.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mock_ovsdb::schema::Schema;
use ovsdb::rpc::Message;
use ovsdb::stream::JsonStream;

fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(Schema::open_vswitch)
}

fuzz_target!(|data: &[u8]| {
    let mut stream = JsonStream::new();
    stream.push(data);
    let tables = Default::default();
    while let Ok(Some(v)) = stream.next_value() {
        if let Ok(Message::Request { method, params, .. }) = Message::from_json(v) {
            if method == "transact" {
                let ops: Vec<serde_json::Value> = params
                    .as_array()
                    .map(|a| a.iter().skip(1).cloned().collect())
                    .unwrap_or_default();
                let outcome = mock_ovsdb::transact::transact(schema(), &tables, &ops);
                // One result per op; a commit-time error adds one more and commits nothing.
                match outcome.committed {
                    Some(_) => assert_eq!(outcome.results.len(), ops.len()),
                    None => assert!(matches!(outcome.results.len() - ops.len(), 0 | 1)),
                }
            }
        }
    }
});
