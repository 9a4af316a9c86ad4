//! `#[auth_config(id = "...", name = "...", description = "...", handler = T)]`
//! and `#[auth_handler(config = T)]`.

use proc_macro2::TokenStream;
use syn::{Attribute, LitStr, Type};

use super::ast::CONFIG_ATTR;
use crate::support::attr::{KeyList, string_value, type_value};
use crate::support::errors::Errors;

/// The keys of `#[auth_config(...)]`, as written.
#[derive(Default)]
pub(crate) struct ConfigKeys {
    pub(crate) id: Option<LitStr>,
    pub(crate) name: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) handler: Option<Type>,
    /// The keys written, well-formed or not.
    pub(crate) written: Vec<&'static str>,
}

impl ConfigKeys {
    /// Whether `key` was written at all.
    pub(crate) fn written(&self, key: &str) -> bool {
        self.written.contains(&key)
    }
}

const CONFIG_KEYS: &[&str] = &["id", "name", "description", "handler"];

/// Reads every `#[auth_config(...)]` of the type.
pub(crate) fn config_keys(attrs: &[&Attribute], errors: &mut Errors) -> ConfigKeys {
    let mut list = KeyList::new(CONFIG_ATTR, CONFIG_KEYS);
    let mut keys = ConfigKeys::default();
    for attr in attrs {
        list.parse_attr(attr, errors, |key, meta, errors| {
            match key {
                "id" => keys.id = string_value(meta, key, errors)?,
                "name" => keys.name = string_value(meta, key, errors)?,
                "description" => keys.description = string_value(meta, key, errors)?,
                _ => keys.handler = type_value(meta, key, "MyHandler", errors)?,
            }
            Ok(())
        });
    }
    keys.written = CONFIG_KEYS
        .iter()
        .copied()
        .filter(|k| list.written(k))
        .collect();
    keys
}

/// Reads `#[auth_handler(config = T)]`'s arguments: the type, and whether
/// `config` was written at all.
pub(crate) fn handler_config(args: TokenStream, errors: &mut Errors) -> (Option<Type>, bool) {
    let mut list = KeyList::new("auth_handler", &["config"]);
    let mut config = None;
    list.parse_args(args, errors, |key, meta, errors| {
        config = type_value(meta, key, "MyConfig", errors)?;
        Ok(())
    });
    (config, list.written("config"))
}
