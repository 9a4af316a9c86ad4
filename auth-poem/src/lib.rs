//! auth-poem
