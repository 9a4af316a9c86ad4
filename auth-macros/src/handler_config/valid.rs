//! The rules of a handler config and of a registered handler, each with its
//! reason, and the values the expansion uses.

use syn::ext::IdentExt;
use syn::{Ident, LitStr, Type};

use super::ast::{Config, Handler};
use crate::support::errors::Errors;

/// A config's settled values.
pub(crate) struct Settled<'a> {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) handler: &'a Type,
}

/// Checks a config; `None` when a value is missing (an error is recorded).
pub(crate) fn check_config<'a>(config: &'a Config<'_>, errors: &mut Errors) -> Option<Settled<'a>> {
    // The registry holds one entry per id: a generic config would be many
    // types under one id.
    if config.generics.lt_token.is_some() {
        errors.spanned(
            config.generics,
            "a handler config cannot have generic parameters: the registry knows it by one id",
        );
    }
    let Some(attr) = config.attr else {
        errors.spanned(
            config.ident,
            "`#[derive(AuthHandlerConfig)]` needs `#[auth_config(name = \"...\", handler = MyHandler)]` on the type",
        );
        return None;
    };
    let keys = &config.keys;
    let missing = |errors: &mut Errors, what: &str| {
        errors.spanned(attr, format!("`#[auth_config(...)]` is missing {what}"));
    };

    let id = match &keys.id {
        Some(lit) => checked(lit, "id", valid_id, ID_CHARS, errors),
        None => default_id(config.ident, errors),
    };
    let name = match &keys.name {
        Some(lit) => checked(lit, "name", |s| !s.trim().is_empty(), "", errors),
        None => {
            if !keys.written("name") {
                missing(
                    errors,
                    "`name = \"...\"`, the handler's human-readable name",
                );
            }
            None
        }
    };
    let description = match (&keys.description, &config.doc) {
        (Some(lit), _) => checked(lit, "description", |s| !s.trim().is_empty(), "", errors),
        (None, Some(doc)) => Some(doc.clone()),
        (None, None) => {
            if !keys.written("description") {
                missing(
                    errors,
                    &format!(
                        "`description = \"...\"`, and `{}` has no doc comment to use instead",
                        config.ident
                    ),
                );
            }
            None
        }
    };
    let handler = keys.handler.as_ref();
    if handler.is_none() && !keys.written("handler") {
        missing(
            errors,
            "`handler = MyHandler`, the handler type this config builds",
        );
    }
    Some(Settled {
        id: id?,
        name: name?,
        description: description?,
        handler: handler?,
    })
}

const ID_CHARS: &str = "use only ASCII letters, digits, `_`, `-` and `.`";

/// A string key's value, when it passes `ok`.
fn checked(
    lit: &LitStr,
    key: &str,
    ok: impl Fn(&str) -> bool,
    rule: &str,
    errors: &mut Errors,
) -> Option<String> {
    let text = lit.value();
    if text.trim().is_empty() {
        errors.spanned(lit, format!("the {key} cannot be empty"));
        return None;
    }
    if !ok(&text) {
        errors.spanned(lit, format!("`{text}` is not a valid {key}: {rule}"));
        return None;
    }
    Some(text)
}

/// The type name, when it can be an id.
fn default_id(ident: &Ident, errors: &mut Errors) -> Option<String> {
    let id = ident.unraw().to_string();
    if valid_id(&id) {
        return Some(id);
    }
    errors.spanned(
        ident,
        format!(
            "the id defaults to the type name, but `{id}` is not a valid id ({ID_CHARS}): set one with `#[auth_config(id = \"...\")]`"
        ),
    );
    None
}

/// An id fits a URL path segment as it is (the handler-settings routes).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A handler's checked values.
pub(crate) struct CheckedHandler<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) config: Type,
}

/// Checks a handler; `None` when the config is missing (an error is recorded).
pub(crate) fn check_handler<'a>(
    handler: Handler<'a>,
    errors: &mut Errors,
) -> Option<CheckedHandler<'a>> {
    // The registry builds one concrete type from the config.
    if handler.generics.lt_token.is_some() {
        errors.spanned(
            handler.generics,
            "a registered handler cannot have generic parameters: its config builds one concrete type",
        );
    }
    if handler.config.is_none() && !handler.config_written {
        errors.at(
            proc_macro2::Span::call_site(),
            "`#[auth_handler]` needs the config type that builds this handler: `#[auth_handler(config = MyConfig)]`",
        );
    }
    Some(CheckedHandler {
        ident: handler.ident,
        config: handler.config?,
    })
}
