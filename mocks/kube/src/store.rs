//! The object store: every object as JSON, one resourceVersion counter for the whole
//! store (as etcd's revision is), and the event log that watches replay from. Mutations go
//! through closures run under the store's lock, so a check (resourceVersion, existence)
//! and the write it guards are one step. With a state file, every mutation is saved
//! (temp + rename) and the file is read back at start.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::meta::metadata_mut;

/// How many events watches can resume from; older resourceVersions get 410 Expired.
const LOG_LEN: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as watches see it.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventType,
    /// Store key of the resource (`/pods`, `apps/daemonsets`).
    pub resource: String,
    pub rv: u64,
    pub object: Value,
    /// The object before a modification (watches with selectors need it).
    pub old: Option<Value>,
}

type Key = (String, String);

#[derive(Default)]
struct Inner {
    rv: u64,
    objects: BTreeMap<String, BTreeMap<Key, Value>>,
    log: VecDeque<Event>,
}

pub struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Event>,
    state_file: Option<PathBuf>,
    /// Kept in the state file next to the objects (the credentials, so that a restarted
    /// server keeps its kubeconfig valid).
    extra: Mutex<Value>,
}

/// What a mutation closure decides.
pub enum Write {
    /// Store this object (its resourceVersion is set by the store).
    Put(Value),
    /// Remove the object.
    Delete,
    /// Change nothing (a no-op update keeps its resourceVersion, as on the real server).
    Keep,
}

fn rv_of(v: &Value) -> u64 {
    crate::meta::meta_str(v, "resourceVersion")
        .parse()
        .unwrap_or(0)
}

impl Store {
    pub fn new(state_file: Option<PathBuf>) -> Store {
        let (events, _) = broadcast::channel(LOG_LEN);
        Store {
            inner: Mutex::new(Inner::default()),
            events,
            state_file,
            extra: Mutex::new(Value::Null),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads the state file if it exists; returns its `extra` part.
    pub fn load(&self) -> Result<Option<Value>, String> {
        let Some(path) = &self.state_file else {
            return Ok(None);
        };
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let v: Value =
            serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut inner = self.lock();
        inner.rv = v["resourceVersion"].as_u64().unwrap_or(0);
        for item in v["objects"].as_array().into_iter().flatten() {
            let res = item["resource"].as_str().unwrap_or("").to_string();
            let obj = item["object"].clone();
            let key = (
                crate::meta::meta_str(&obj, "namespace").to_string(),
                crate::meta::meta_str(&obj, "name").to_string(),
            );
            inner.rv = inner.rv.max(rv_of(&obj));
            inner.objects.entry(res).or_default().insert(key, obj);
        }
        let extra = v["extra"].clone();
        *self.extra.lock().unwrap_or_else(|e| e.into_inner()) = extra.clone();
        Ok(Some(extra))
    }

    pub fn set_extra(&self, extra: Value) {
        *self.extra.lock().unwrap_or_else(|e| e.into_inner()) = extra;
        let inner = self.lock();
        self.save(&inner);
    }

    fn save(&self, inner: &Inner) {
        let Some(path) = &self.state_file else {
            return;
        };
        let objects: Vec<Value> = inner
            .objects
            .iter()
            .flat_map(|(res, m)| {
                m.values()
                    .map(move |o| json!({"resource": res, "object": o}))
            })
            .collect();
        let extra = self.extra.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let doc = json!({"resourceVersion": inner.rv, "objects": objects, "extra": extra});
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        if let Err(e) = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path)) {
            tracing::warn!("cannot save state to {}: {e}", path.display());
        }
    }

    pub fn get(&self, res: &str, ns: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(res)
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
            .cloned()
    }

    /// The objects of `res` (in `ns`, or all namespaces), and the store's resourceVersion.
    pub fn list(&self, res: &str, ns: Option<&str>) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let items = inner
            .objects
            .get(res)
            .map(|m| {
                m.iter()
                    .filter(|((n, _), _)| ns.is_none_or(|ns| ns == n))
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .unwrap_or_default();
        (items, inner.rv)
    }

    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Runs `f` on the current object (None if absent) under the lock and applies what it
    /// decides. Returns the object as stored (or as deleted), or None for `Keep` of nothing.
    pub fn mutate<E>(
        &self,
        res: &str,
        ns: &str,
        name: &str,
        f: impl FnOnce(Option<&Value>) -> Result<Write, E>,
    ) -> Result<Option<Value>, E> {
        let mut inner = self.lock();
        let key = (ns.to_string(), name.to_string());
        let current = inner.objects.get(res).and_then(|m| m.get(&key)).cloned();
        let before = current.clone();
        let (kind, object) = match (f(current.as_ref())?, current) {
            (Write::Keep, cur) => return Ok(cur),
            (Write::Delete, None) => return Ok(None),
            (Write::Delete, Some(mut old)) => {
                inner.rv += 1;
                let rv = inner.rv;
                metadata_mut(&mut old).insert("resourceVersion".into(), json!(rv.to_string()));
                if let Some(m) = inner.objects.get_mut(res) {
                    m.remove(&key);
                }
                (EventType::Deleted, old)
            }
            (Write::Put(mut new), old) => {
                inner.rv += 1;
                let rv = inner.rv;
                metadata_mut(&mut new).insert("resourceVersion".into(), json!(rv.to_string()));
                inner
                    .objects
                    .entry(res.to_string())
                    .or_default()
                    .insert(key, new.clone());
                let kind = if old.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                };
                (kind, new)
            }
        };
        let ev = Event {
            kind,
            resource: res.to_string(),
            rv: inner.rv,
            object: object.clone(),
            old: before.filter(|_| kind == EventType::Modified),
        };
        inner.log.push_back(ev.clone());
        if inner.log.len() > LOG_LEN {
            inner.log.pop_front();
        }
        self.save(&inner);
        let _ = self.events.send(ev);
        Ok(Some(object))
    }

    /// Starts a watch: the live receiver, plus the logged events after `since` (None when
    /// `since` is older than the log reaches: the client must relist).
    pub fn subscribe(&self, since: u64) -> (broadcast::Receiver<Event>, Option<Vec<Event>>) {
        let inner = self.lock();
        let rx = self.events.subscribe();
        let oldest = inner.log.front().map_or(inner.rv + 1, |e| e.rv);
        let replay = if since.saturating_add(1) < oldest && since < inner.rv {
            None
        } else {
            Some(inner.log.iter().filter(|e| e.rv > since).cloned().collect())
        };
        (rx, replay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "default"}})
    }

    #[test]
    fn mutations_bump_the_resource_version_and_are_logged() {
        let s = Store::new(None);
        let put = |o: Value| move |_: Option<&Value>| Ok::<_, ()>(Write::Put(o));
        let a = s
            .mutate("/pods", "default", "a", put(obj("a")))
            .unwrap()
            .unwrap();
        assert_eq!(a["metadata"]["resourceVersion"], "1");
        s.mutate("/pods", "default", "a", |_| Ok::<_, ()>(Write::Keep))
            .unwrap();
        assert_eq!(s.resource_version(), 1, "a no-op keeps the version");
        let d = s
            .mutate("/pods", "default", "a", |_| Ok::<_, ()>(Write::Delete))
            .unwrap();
        assert_eq!(d.unwrap()["metadata"]["resourceVersion"], "2");
        let (_, replay) = s.subscribe(0);
        let kinds: Vec<_> = replay.unwrap().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventType::Added, EventType::Deleted]);
        assert_eq!(
            s.subscribe(u64::MAX).1.unwrap().len(),
            0,
            "a future version replays nothing"
        );
        assert!(s.get("/pods", "default", "a").is_none());
    }

    #[test]
    fn state_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let s = Store::new(Some(path.clone()));
        s.mutate("/pods", "default", "a", |_| {
            Ok::<_, ()>(Write::Put(obj("a")))
        })
        .unwrap();
        s.set_extra(json!({"k": 1}));
        let t = Store::new(Some(path));
        assert_eq!(t.load().unwrap(), Some(json!({"k": 1})));
        assert_eq!(t.resource_version(), 1);
        assert_eq!(
            t.get("/pods", "default", "a").unwrap()["metadata"]["name"],
            "a"
        );
    }
}
