//! The plugin's Kubernetes client alone: GET a pod and PUT it back with one annotation
//! changed (BENCHMARKS.md compares it with other clients doing the same).
//!
//!     kube_get_put KUBECONFIG NAMESPACE NAME

use std::path::Path;
use std::time::Duration;

use userspace_cni::kube::client::Client;
use userspace_cni::kube::kubeconfig::Kubeconfig;
use userspace_cni::kube::pod::{self, PodRef};

fn main() {
    let mut a = std::env::args().skip(1);
    let (kc, namespace, name) = match (a.next(), a.next(), a.next()) {
        (Some(k), Some(n), Some(p)) => (k, n, p),
        _ => {
            eprintln!("usage: kube_get_put KUBECONFIG NAMESPACE NAME");
            std::process::exit(2);
        }
    };
    let conn = Kubeconfig::load(Path::new(&kc)).unwrap_or_else(|e| panic!("{e}"));
    let mut client = Client::new(conn, Duration::from_secs(5));
    let pod_ref = PodRef { namespace, name };
    let first = pod::get(&mut client, &pod_ref).unwrap_or_else(|e| panic!("{e}"));
    pod::update_annotations(
        &mut client,
        &pod_ref,
        Some(first),
        Duration::from_secs(5),
        |a| {
            a.insert("candidate".into(), "userspace-cni".into());
            Ok(true)
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
}
