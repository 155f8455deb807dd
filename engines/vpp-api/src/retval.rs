//! VPP's error numbers (src/vnet/error.h) as they appear, negated, in `retval`.

macro_rules! errors {
    ($($name:ident = $val:literal, $text:literal;)*) => {
        $(#[doc = $text] pub const $name: i32 = $val;)*

        /// VPP's text for a retval, when it is one this crate knows.
        pub fn describe(retval: i32) -> Option<&'static str> {
            match retval {
                $($val => Some($text),)*
                _ => None,
            }
        }
    };
}

errors! {
    UNSPECIFIED = -1, "Unspecified Error";
    INVALID_SW_IF_INDEX = -2, "Invalid sw_if_index";
    NO_SUCH_ENTRY = -6, "No such entry";
    INVALID_VALUE = -7, "Invalid value";
    UNIMPLEMENTED = -9, "Unimplemented";
    SYSCALL_ERROR_1 = -11, "System call error #1";
    SYSCALL_ERROR_2 = -12, "System call error #2";
    SYSCALL_ERROR_3 = -13, "System call error #3";
    SYSCALL_ERROR_4 = -14, "System call error #4";
    ADDRESS_LENGTH_MISMATCH = -59, "Address length mismatch";
    ADDRESS_NOT_FOUND_FOR_INTERFACE = -60, "Address not found for interface";
    SUBIF_ALREADY_EXISTS = -68, "Subinterface already exists";
    INVALID_INTERFACE = -71, "Invalid interface";
    INVALID_VLAN_TAG_COUNT = -72, "Invalid number of tags for requested operation";
    INVALID_ARGUMENT = -73, "Invalid argument";
    UNEXPECTED_INTF_STATE = -74, "Unexpected interface state";
    IF_ALREADY_EXISTS = -79, "Interface already exists";
    ADDRESS_IN_USE = -105, "Address in use";
    ENTRY_ALREADY_EXISTS = -116, "Entry already exists";
    BD_ALREADY_EXISTS = -119, "Bridge domain already exists";
    BD_IN_USE = -120, "Bridge domain has member interfaces";
    BD_NOT_MODIFIABLE = -121, "Bridge domain 0 can't be deleted/modified";
    BD_ID_EXCEED_MAX = -122, "Bridge domain ID exceeds 16M limit";
    UNSUPPORTED = -126, "Unsupported";
    DUPLICATE_IF_ADDRESS = -127, "Duplicate interface address";
    NON_ETHERNET = -151, "Interface cannot be set as a bridge port (non-ethernet)";
    BD_ALREADY_HAS_BVI = -152, "Bridge domain already has a BVI interface";
}
