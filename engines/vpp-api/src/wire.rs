//! Field encoding: packed, big-endian, as VPP lays out message bodies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message body ends early: wanted {wanted} more bytes at offset {at}")]
    /// The body ended before a field did.
    Short {
        /// Offset in the body.
        at: usize,
        /// Bytes missing.
        wanted: usize,
    },
    #[error("bad value {value} for {what}")]
    /// A field holds a value that its type does not allow.
    BadValue {
        /// The field.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    #[error("string field is not UTF-8")]
    /// A string field is not UTF-8.
    NotUtf8,
}

/// Reads fields from a message body.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(DecodeError::Short {
                at: self.pos,
                wanted: n,
            }),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
}

/// Writes fields of a message body.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty body.
    pub fn new() -> Self {
        Writer { buf: Vec::new() }
    }

    /// Appends raw bytes.
    pub fn put(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The encoded body.
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }
}

/// A value with a VPP wire form.
pub trait Wire: Sized {
    /// Appends this value in wire form.
    fn encode(&self, w: &mut Writer);
    /// Reads one value in wire form.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

macro_rules! wire_int {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn encode(&self, w: &mut Writer) {
                w.put(&self.to_be_bytes());
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_be_bytes(r.array()?))
            }
        }
    )*};
}
wire_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Wire for bool {
    fn encode(&self, w: &mut Writer) {
        w.put(&[u8::from(*self)]);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // VPP treats any non-zero byte as true.
        Ok(r.take(1)?[0] != 0)
    }
}

impl<const N: usize> Wire for [u32; N] {
    fn encode(&self, w: &mut Writer) {
        for v in self {
            v.encode(w);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut a = [0u32; N];
        for v in a.iter_mut() {
            *v = u32::decode(r)?;
        }
        Ok(a)
    }
}

/// `string x[]`: a u32 byte count, then the bytes, no NUL.
impl Wire for String {
    fn encode(&self, w: &mut Writer) {
        (self.len() as u32).encode(w);
        w.put(self.as_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = u32::decode(r)? as usize;
        let bytes = r.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::NotUtf8)
    }
}

/// `string x[N]`: exactly N bytes, the text NUL-padded. At most N-1 bytes of text are
/// sent, so a reader always finds a NUL.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub struct FixedString<const N: usize>(String);

impl<const N: usize> FixedString<N> {
    /// Wraps `s`, cutting it (on a char boundary) to fit N-1 bytes.
    pub fn new(s: &str) -> Self {
        let mut end = s.len().min(N - 1);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        FixedString(s[..end].to_string())
    }

    /// Wraps `s` only if it fits whole.
    pub fn exact(s: &str) -> Option<Self> {
        (s.len() < N && !s.contains('\0')).then(|| FixedString(s.to_string()))
    }

    /// The string up to its first NUL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> From<&str> for FixedString<N> {
    fn from(s: &str) -> Self {
        FixedString::new(s)
    }
}

impl<const N: usize> std::fmt::Display for FixedString<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const N: usize> Wire for FixedString<N> {
    fn encode(&self, w: &mut Writer) {
        let mut buf = [0u8; N];
        let text = self.0.as_bytes();
        let n = text.len().min(N - 1);
        buf[..n].copy_from_slice(&text[..n]);
        w.put(&buf);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let raw = r.take(N)?;
        let end = raw.iter().position(|&b| b == 0).unwrap_or(N);
        // Real VPP strings are ASCII; replace anything else rather than fail the message.
        Ok(FixedString(
            String::from_utf8_lossy(&raw[..end]).into_owned(),
        ))
    }
}

/// `mac_address`: 6 raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct MacAddress(pub [u8; 6]);

impl MacAddress {
    /// Whether all six bytes are zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }
}

impl std::fmt::Display for MacAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl std::str::FromStr for MacAddress {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let mut m = [0u8; 6];
        let mut parts = s.split(':');
        for b in m.iter_mut() {
            let p = parts.next().ok_or(())?;
            if p.len() != 2 {
                return Err(());
            }
            *b = u8::from_str_radix(p, 16).map_err(|_| ())?;
        }
        if parts.next().is_some() {
            return Err(());
        }
        Ok(MacAddress(m))
    }
}

impl Wire for MacAddress {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.0);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MacAddress(r.array()?))
    }
}

/// `address`: family (u8: 0 IPv4, 1 IPv6) and a 16-byte union.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address(pub IpAddr);

impl Default for Address {
    fn default() -> Self {
        Address(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

impl Wire for Address {
    fn encode(&self, w: &mut Writer) {
        let mut un = [0u8; 16];
        let af = match self.0 {
            IpAddr::V4(a) => {
                un[..4].copy_from_slice(&a.octets());
                0u8
            }
            IpAddr::V6(a) => {
                un.copy_from_slice(&a.octets());
                1u8
            }
        };
        af.encode(w);
        w.put(&un);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let af = u8::decode(r)?;
        let un: [u8; 16] = r.array()?;
        match af {
            0 => Ok(Address(IpAddr::V4(Ipv4Addr::new(
                un[0], un[1], un[2], un[3],
            )))),
            1 => Ok(Address(IpAddr::V6(Ipv6Addr::from(un)))),
            v => Err(DecodeError::BadValue {
                what: "address_family",
                value: v.into(),
            }),
        }
    }
}

/// `prefix` / `address_with_prefix`: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Prefix {
    /// The network address.
    pub address: Address,
    /// The prefix length in bits.
    pub len: u8,
}

impl Prefix {
    /// `ip/len`.
    pub fn new(ip: IpAddr, len: u8) -> Self {
        Prefix {
            address: Address(ip),
            len,
        }
    }

    /// The address as a std type.
    pub fn ip(&self) -> IpAddr {
        self.address.0
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address.0, self.len)
    }
}

impl Wire for Prefix {
    fn encode(&self, w: &mut Writer) {
        self.address.encode(w);
        self.len.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Prefix {
            address: Address::decode(r)?,
            len: u8::decode(r)?,
        })
    }
}

/// A variable array whose element count is the field right before it (`T x[n]` after
/// `n`): encoded as the count then the elements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counted<C, T> {
    /// The elements; their count goes on the wire before them.
    pub items: Vec<T>,
    _count: std::marker::PhantomData<C>,
}

impl<C, T> Counted<C, T> {
    /// An array of `items`.
    pub fn new(items: Vec<T>) -> Self {
        Counted {
            items,
            _count: std::marker::PhantomData,
        }
    }
}

impl<C, T> From<Vec<T>> for Counted<C, T> {
    fn from(items: Vec<T>) -> Self {
        Counted::new(items)
    }
}

impl<C, T> Wire for Counted<C, T>
where
    C: Wire + TryFrom<usize> + Into<u64> + Copy,
    T: Wire,
{
    fn encode(&self, w: &mut Writer) {
        let n = C::try_from(self.items.len())
            .ok()
            .expect("variable array longer than its count field can say");
        n.encode(w);
        for item in &self.items {
            item.encode(w);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n: u64 = C::decode(r)?.into();
        // Never trust the count for allocation: each element takes at least one byte.
        let mut items = Vec::with_capacity((n as usize).min(r.buf.len() - r.pos));
        for _ in 0..n {
            items.push(T::decode(r)?);
        }
        Ok(Counted::new(items))
    }
}
