use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn record(cid: &str, ifname: &str, marker: u32) -> AttachmentRecord {
    AttachmentRecord {
        container_id: cid.into(),
        if_name: ifname.into(),
        network: "memif-network".into(),
        state: State::Ready,
        netconf: serde_json::json!({"marker": marker}),
        netconf_text: None,
        shared_dir: PathBuf::from("/run/x").join(cid),
        created_dir: Some(PathBuf::from("/run/x").join(cid)),
        host: None,
        ipam_allocated: false,
        result: None,
        kube: None,
        device_info_file: None,
    }
}

#[test]
fn save_load_remove() {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(&t.path().join("data")).unwrap();
    let r = record("c1", "net1", 1);
    assert!(s.load(&r.attachment()).unwrap().is_none());
    s.save(&r).unwrap();
    assert_eq!(s.load(&r.attachment()).unwrap(), Some(r.clone()));
    assert_eq!(s.list().unwrap(), vec![r.clone()]);
    s.remove(&r.attachment()).unwrap();
    s.remove(&r.attachment()).unwrap();
    assert!(s.list().unwrap().is_empty());
}

/// `create` writes in place with the record's exact mode; over an existing record (which an
/// ADD never meets under the lock) it replaces it like `save`. A temporary file a dead
/// process of the same pid left does not stop `save`, and none is left behind.
#[test]
fn create_and_save_write_exactly_what_is_asked() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path()).unwrap();
    let r = record("c1", "net1", 1);
    s.create(&r).unwrap();
    let path = t.path().join("c1@net1.json");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(s.load(&r.attachment()).unwrap(), Some(r));
    let again = record("c1", "net1", 2);
    s.create(&again).unwrap();
    assert_eq!(s.load(&again.attachment()).unwrap(), Some(again));
    let stale = t
        .path()
        .join(format!(".c1@net1.json.tmp.{}", std::process::id()));
    std::fs::write(&stale, b"half").unwrap();
    let last = record("c1", "net1", 3);
    s.save(&last).unwrap();
    assert_eq!(s.load(&last.attachment()).unwrap(), Some(last));
    assert!(!stale.exists());
}

#[test]
fn a_record_under_another_name_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path()).unwrap();
    let r = record("c1", "net1", 1);
    s.save(&r).unwrap();
    std::fs::rename(t.path().join("c1@net1.json"), t.path().join("c2@net1.json")).unwrap();
    let other = Attachment {
        container_id: "c2".into(),
        if_name: "net1".into(),
    };
    assert!(matches!(s.load(&other), Err(StoreError::Corrupt { .. })));
    assert!(s.list().unwrap().is_empty());
}

/// (`a-b`, `c`) and (`a`, `b-c`) had one record file in earlier versions: now each has its
/// own, and neither reads, lists or removes the other's.
#[test]
fn ids_and_ifnames_that_join_alike_have_their_own_records() {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path()).unwrap();
    let x = record("a-b", "c", 1);
    let y = record("a", "b-c", 2);
    s.create(&x).unwrap();
    s.create(&y).unwrap();
    assert_eq!(s.load(&x.attachment()).unwrap(), Some(x.clone()));
    assert_eq!(s.load(&y.attachment()).unwrap(), Some(y.clone()));
    assert_eq!(s.list().unwrap(), vec![y.clone(), x.clone()]);
    s.remove(&y.attachment()).unwrap();
    assert_eq!(s.list().unwrap(), vec![x]);
}

/// A record written under the old scheme (`<id>-<ifname>.json`) is read as its
/// attachment's, never as the other attachment's of the same old name; saving moves it to
/// the new name, removing removes it.
#[test]
fn old_scheme_records_are_read() {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path()).unwrap();
    let x = record("a-b", "c", 1);
    let old = t.path().join("a-b-c.json");
    std::fs::write(&old, serde_json::to_vec(&x).unwrap()).unwrap();
    assert_eq!(s.load(&x.attachment()).unwrap(), Some(x.clone()));
    let y = record("a", "b-c", 2);
    assert_eq!(s.load(&y.attachment()).unwrap(), None);
    assert_eq!(s.list().unwrap(), vec![x.clone()]);
    // The other attachment's remove leaves it.
    s.remove(&y.attachment()).unwrap();
    assert!(old.exists());
    s.save(&x).unwrap();
    assert!(!old.exists());
    assert_eq!(s.list().unwrap(), vec![x.clone()]);
    std::fs::write(&old, serde_json::to_vec(&x).unwrap()).unwrap();
    s.remove(&x.attachment()).unwrap();
    assert!(s.list().unwrap().is_empty());
    assert!(!old.exists());
}

#[rstest::rstest]
#[case::empty(b"")]
#[case::cut_short(b"{\"containerId\": \"c1\", \"ifN")]
#[case::not_json(b"\x00\x00\x00\x00")]
fn a_torn_record_is_discarded_not_fatal(#[case] bytes: &[u8]) {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path()).unwrap();
    let r = record("c1", "net1", 1);
    std::fs::write(t.path().join("c1@net1.json"), bytes).unwrap();
    assert!(matches!(
        s.load(&r.attachment()),
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(s.load_or_discard(&r.attachment()).unwrap(), None);
    // A good record is still read as it is.
    s.save(&r).unwrap();
    assert_eq!(s.load_or_discard(&r.attachment()).unwrap(), Some(r));
}

#[test]
fn lock_excludes_and_times_out() {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path()).unwrap();
    let held = s.lock(Duration::from_secs(1)).unwrap();
    // flock is per open file description, so a second open in this process contends.
    let err = s.lock(Duration::from_millis(30)).err().unwrap();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    drop(held);
    assert!(s.lock(Duration::from_millis(30)).is_ok());
}

#[derive(Debug, Clone)]
enum Op {
    /// A record written with `create` (an ADD's first) or `save`.
    Add(u8, u8, bool),
    Del(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, 0u8..2, any::<bool>()).prop_map(|(c, i, first)| Op::Add(c, i, first)),
        (0u8..6, 0u8..2).prop_map(|(c, i)| Op::Del(c, i)),
    ]
}

proptest! {
    /// Any interleaving of ADDs and DELs of different attachments: every record reads
    /// back as last written, none is lost, and DEL of everything leaves no record file.
    #[test]
    fn lifecycle_never_loses_or_leaks(ops in proptest::collection::vec(op(), 1..40)) {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path()).unwrap();
        let mut model: BTreeMap<(String, String), u32> = BTreeMap::new();
        for (n, op) in ops.iter().enumerate() {
            match *op {
                Op::Add(c, i, first) => {
                    let r = record(&format!("c{c}"), &format!("net{i}"), n as u32);
                    if first {
                        s.create(&r).unwrap();
                    } else {
                        s.save(&r).unwrap();
                    }
                    model.insert((r.container_id.clone(), r.if_name.clone()), n as u32);
                }
                Op::Del(c, i) => {
                    let who = Attachment { container_id: format!("c{c}"), if_name: format!("net{i}") };
                    s.remove(&who).unwrap();
                    model.remove(&(who.container_id, who.if_name));
                }
            }
            let listed: BTreeMap<(String, String), u32> = s
                .list()
                .unwrap()
                .into_iter()
                .map(|r| ((r.container_id, r.if_name), r.netconf["marker"].as_u64().unwrap() as u32))
                .collect();
            prop_assert_eq!(&listed, &model);
        }
        for (cid, ifname) in model.keys() {
            s.remove(&Attachment { container_id: cid.clone(), if_name: ifname.clone() }).unwrap();
        }
        let left: Vec<_> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".lock")
            .collect();
        prop_assert!(left.is_empty(), "left behind: {:?}", left);
    }
}

/// Unreadable records, with the attachments their names may stand for (one for a current
/// name, every valid split of an old-scheme one) and their network when the text has it.
#[test]
fn unreadable_records_are_listed_with_what_they_stand_for() {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path()).unwrap();
    s.save(&record("good", "net1", 1)).unwrap();
    std::fs::write(t.path().join("c1@net1.json"), b"").unwrap();
    std::fs::write(
        t.path().join("a-b-c.json"),
        b"{\n  \"containerId\": \"a-b\",\n  \"ifName\": \"c\",\n  \"network\": \"n1\",\n  \"st",
    )
    .unwrap();
    let who = |id: &str, ifname: &str| Attachment {
        container_id: id.into(),
        if_name: ifname.into(),
    };
    let mut found = s.unreadable().unwrap();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].candidates, vec![who("a", "b-c"), who("a-b", "c")]);
    assert_eq!(found[0].network.as_deref(), Some("n1"));
    assert_eq!(found[1].candidates, vec![who("c1", "net1")]);
    assert_eq!(found[1].network, None);
}
