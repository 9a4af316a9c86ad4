//! What every macro of this crate shares: error collection, attribute
//! key parsing, and the path of the runtime crate.

pub(crate) mod attr;
pub(crate) mod errors;
pub(crate) mod item;
pub(crate) mod runtime;
