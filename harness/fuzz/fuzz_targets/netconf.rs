//! Any stdin the runtime could send: parsing never panics, and a parsed netconf either
//! plans cleanly or is refused with a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use userspace_cni::netconf::NetConf;
use userspace_cni::plan::Plan;

fuzz_target!(|data: &[u8]| {
    if let Ok(conf) = NetConf::parse(data) {
        let who = engines::Attachment {
            container_id: "0123456789abcdef".into(),
            if_name: "net1".into(),
        };
        if let Ok(plan) = Plan::new(&conf, &who) {
            // Whatever was accepted stays inside its shared directory.
            assert!(plan.socket_path().starts_with(&plan.shared_dir));
            assert!(plan.config_data_path.starts_with(&plan.shared_dir));
        }
        if let Some(prev) = &conf.prev_result {
            let _ = userspace_cni::cni::CniResult::from_json(prev);
        }
    }
});
