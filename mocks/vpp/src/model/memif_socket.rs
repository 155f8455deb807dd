//! memif socket-file registrations, as VPP's memif plugin keeps them
//! (`memif_socket_filename_add_del` in memif.c and its two API handlers).

use std::path::PathBuf;

use vpp_api::retval::*;

use super::{ids, Device, MemifSocket, Vpp, VppResult};

impl Vpp {
    /// Registers (or drops) memif socket file `socket_id`; returns the id. A name without
    /// a leading `/` goes under the run directory, whose missing directories are made
    /// (−11 when that fails). The same id again with the same file is accepted, with
    /// another file refused (−116). An unknown id (−73) or one a memif interface uses
    /// (−74) cannot be deleted; neither can id 0, VPP's default socket.
    pub fn memif_socket(&mut self, is_add: bool, socket_id: u32, filename: &str) -> VppResult<u32> {
        if socket_id == u32::MAX || socket_id == 0 && !is_add {
            return Err(INVALID_ARGUMENT);
        }
        if !is_add {
            if !self.memif_sockets.contains_key(&socket_id) {
                return Err(INVALID_ARGUMENT);
            }
            let in_use = self
                .interfaces
                .values()
                .any(|i| matches!(&i.device, Device::Memif(m) if m.socket_id == socket_id));
            if in_use {
                return Err(UNEXPECTED_INTF_STATE);
            }
            self.memif_sockets.remove(&socket_id);
            return Ok(socket_id);
        }
        if filename.is_empty() {
            return Err(INVALID_ARGUMENT);
        }
        let path = if filename.starts_with('/') {
            PathBuf::from(filename)
        } else {
            let path = self.run_dir.join(filename);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|_| SYSCALL_ERROR_1)?;
            }
            path
        };
        let full = path.display().to_string();
        match self.memif_sockets.get(&socket_id) {
            Some(s) if s.filename == full => return Ok(socket_id),
            Some(_) => return Err(ENTRY_ALREADY_EXISTS),
            None => {}
        }
        self.memif_sockets
            .insert(socket_id, MemifSocket { filename: full });
        Ok(socket_id)
    }

    /// `memif_socket_filename_add_del` (deprecated): ids 0 and ~0 are refused (−73).
    pub fn memif_socket_v1(&mut self, is_add: bool, socket_id: u32, filename: &str) -> i32 {
        if socket_id == 0 || socket_id == u32::MAX {
            return INVALID_ARGUMENT;
        }
        self.memif_socket(is_add, socket_id, filename)
            .err()
            .unwrap_or(0)
    }

    /// `memif_socket_filename_add_del_v2`: (retval, socket_id for the reply). Id 0 is
    /// refused (−73); ~0 on add takes the id VPP would pick, which the reply carries
    /// whatever happens next.
    pub fn memif_socket_v2(&mut self, is_add: bool, socket_id: u32, filename: &str) -> (i32, u32) {
        if socket_id == 0 {
            return (INVALID_ARGUMENT, 0);
        }
        let socket_id = if is_add && socket_id == u32::MAX {
            let sockets = &self.memif_sockets;
            ids::pick_unused(&mut self.ids.memif_socket_seed, u32::MAX, u32::MAX, |id| {
                sockets.contains_key(&id)
            })
            .unwrap_or(u32::MAX)
        } else {
            socket_id
        };
        let retval = self.memif_socket(is_add, socket_id, filename).err();
        (retval.unwrap_or(0), socket_id)
    }
}
