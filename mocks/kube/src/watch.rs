//! Watches: `?watch=true` answers a stream of `{"type", "object"}` lines. Without a
//! resourceVersion (or with `0`) the stream starts with the current objects as ADDED
//! events; with one, it replays the logged events after it (410 Expired in an ERROR event
//! when the log no longer reaches back that far). Table watches (`kubectl get -w`) get one
//! single-row Table per event, column definitions in the first one only. With a selector,
//! an object modified into it is ADDED and one modified out of it is DELETED, as the real
//! server's watch cache reports them.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::api::Api;
use crate::request::Target;
use crate::resources::Resource;
use crate::status::ApiError;
use crate::store::{Event, EventType};
use crate::table;
use crate::verbs::Selection;

/// Longest a watch stays open (the real server picks 30-60 min unless told).
const MAX_TIMEOUT: u64 = 1800;

/// An accepted watch, ready to stream.
#[derive(Debug)]
pub struct WatchPlan {
    res: &'static Resource,
    sel: Selection,
    table: bool,
    timeout: Duration,
    /// Events to send first (initial state or replay), or the error to end with.
    first: Vec<Value>,
    /// Live events with a resourceVersion up to this are already covered by `first`.
    covered: u64,
    rx: Option<broadcast::Receiver<Event>>,
    /// A Table (with its column definitions) has been sent.
    sent: bool,
}

impl std::fmt::Debug for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selection")
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// How a watch with selection `sel` sees event `e`, if at all: the event type and the
/// object it carries (leaving the selection, the previous content at the new version).
fn seen_as(sel: &Selection, e: &Event) -> Option<(&'static str, Value)> {
    let now = sel.matches(&e.object);
    match (e.kind, e.old.as_ref().filter(|o| sel.matches(o))) {
        (EventType::Modified, None) if now && e.old.is_some() => Some(("ADDED", e.object.clone())),
        (EventType::Modified, Some(old)) if !now => {
            let mut old = old.clone();
            crate::meta::metadata_mut(&mut old)
                .insert("resourceVersion".into(), json!(e.rv.to_string()));
            Some(("DELETED", old))
        }
        (kind, _) if now => Some((kind.as_str(), e.object.clone())),
        _ => None,
    }
}

fn event_line(kind: &str, object: Value) -> Value {
    json!({"type": kind, "object": object})
}

fn render(res: &Resource, table: bool, obj: &Value, rv: u64, first: bool) -> Value {
    if table {
        table::render(res, std::slice::from_ref(obj), rv, first)
    } else {
        crate::verbs::normalize(res, obj)
    }
}

pub fn plan(
    api: &Api,
    t: &Target,
    q: &BTreeMap<String, String>,
    table: bool,
) -> Result<WatchPlan, ApiError> {
    let mut sel = Selection::new(t, q)?;
    if let Some(name) = &t.name {
        // `GET .../pods/p1?watch=true` (deprecated form) watches that one object.
        sel.fields =
            crate::selector::FieldSelector::parse(&format!("metadata.name={name}"), t.res.kind)?;
    }
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(MAX_TIMEOUT)
        .min(MAX_TIMEOUT);
    let since = match q.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(s) => Some(
            s.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s}")))?,
        ),
    };
    let key = t.res.key();
    let mut first = Vec::new();
    let mut n = 0;
    let (rx, covered) = match since {
        None => {
            let (rx, _) = api.store.subscribe(u64::MAX - 1);
            let (items, rv) = api.store.list(&key, sel.namespace.as_deref());
            for o in items.iter().filter(|o| sel.matches(o)) {
                first.push(event_line("ADDED", render(t.res, table, o, rv, n == 0)));
                n += 1;
            }
            (Some(rx), rv)
        }
        Some(since) => {
            let (rx, replay) = api.store.subscribe(since);
            match replay {
                None => {
                    let e = ApiError::gone(format!("too old resource version: {since}"));
                    first.push(event_line("ERROR", e.to_status()));
                    (None, 0)
                }
                Some(events) => {
                    let mut last = since;
                    for e in events.iter().filter(|e| e.resource == key) {
                        if let Some((kind, o)) = seen_as(&sel, e) {
                            let obj = render(t.res, table, &o, e.rv, n == 0);
                            first.push(event_line(kind, obj));
                            n += 1;
                            last = e.rv;
                        }
                    }
                    let covered = events.last().map_or(last, |e| e.rv);
                    (Some(rx), covered)
                }
            }
        }
    };
    Ok(WatchPlan {
        res: t.res,
        sel,
        table,
        timeout: Duration::from_secs(timeout),
        first,
        covered,
        rx,
        sent: n > 0,
    })
}

fn line(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

impl WatchPlan {
    /// The event lines, ending at the timeout, on a lagging receiver (with a 410 ERROR)
    /// or when the server stops.
    pub fn stream(self) -> impl Stream<Item = Bytes> + Send {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let queue: VecDeque<Bytes> = self.first.iter().map(line).collect();
        futures_util::stream::unfold(
            (self, queue, deadline),
            |(mut p, mut queue, deadline)| async move {
                loop {
                    if let Some(b) = queue.pop_front() {
                        return Some((b, (p, queue, deadline)));
                    }
                    let rx = p.rx.as_mut()?;
                    let ev = match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Err(_) | Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                        Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                            p.rx = None;
                            let e =
                                ApiError::gone("too old resource version: the watch fell behind");
                            queue.push_back(line(&event_line("ERROR", e.to_status())));
                            continue;
                        }
                        Ok(Ok(ev)) => ev,
                    };
                    if ev.rv <= p.covered || ev.resource != p.res.key() {
                        continue;
                    }
                    let Some((kind, o)) = seen_as(&p.sel, &ev) else {
                        continue;
                    };
                    let first = !p.sent;
                    p.sent = true;
                    let obj = render(p.res, p.table, &o, ev.rv, first);
                    queue.push_back(line(&event_line(kind, obj)));
                }
            },
        )
    }
}
