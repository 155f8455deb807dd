//! Socket framing: a 16-byte header (u64 unused, u32 body length, u32 unused, all
//! big-endian) before every body.

use std::io::{self, Read, Write};

/// Size of the frame header.
pub const HEADER_LEN: usize = 16;

/// Builds the header for a body of `len` bytes.
pub fn header(len: usize) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[8..12].copy_from_slice(&(len as u32).to_be_bytes());
    h
}

/// Body length announced by a header.
pub fn body_len(header: &[u8; HEADER_LEN]) -> usize {
    u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize
}

/// Writes one frame (header and body in one write, so frames never interleave).
pub fn write_frame<W: Write>(w: &mut W, body: &[u8]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(HEADER_LEN + body.len());
    buf.extend_from_slice(&header(body.len()));
    buf.extend_from_slice(body);
    w.write_all(&buf)
}

/// Reads one frame's body, refusing bodies over `max_len`. Empty bodies are skipped,
/// as VPP does. `Ok(None)` at a clean end of stream.
pub fn read_frame<R: Read>(r: &mut R, max_len: usize) -> io::Result<Option<Vec<u8>>> {
    loop {
        let mut h = [0u8; HEADER_LEN];
        match read_full(r, &mut h)? {
            0 => return Ok(None),
            n if n < HEADER_LEN => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a frame header",
                ))
            }
            _ => {}
        }
        let len = body_len(&h);
        if len > max_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("frame of {len} bytes is over the limit of {max_len}"),
            ));
        }
        if len == 0 {
            continue;
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body)?;
        return Ok(Some(body));
    }
}

/// Reads until `buf` is full or the stream ends; returns how much was read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
