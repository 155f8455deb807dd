//! Every message this crate speaks, one struct each, grouped by VPP API module.
//!
//! Fields are listed in wire order after the leading `_vl_msg_id`, `client_index` and
//! `context`; `tests/api_json.rs` checks names, CRCs and layouts against the .api.json
//! files carried in `api/`.

mod interface;
mod l2;
mod memclnt;
mod memif;
mod vhost;
mod vpe;

pub use interface::*;
pub use l2::*;
pub use memclnt::*;
pub use memif::*;
pub use vhost::*;
pub use vpe::*;
