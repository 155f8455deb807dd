//! The Kubernetes path on one machine: mock-kube as the API server, the real `kubectl`,
//! and the harness playing the node: kubelet (pod sandboxes, volumes, the downward-API
//! file) and Multus (delegating to the plugin, publishing `network-status`).

pub mod api;
pub mod downward;
pub mod multus;
pub mod node;
pub mod run;
