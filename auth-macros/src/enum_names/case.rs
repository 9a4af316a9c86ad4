//! Variant identifiers to SCREAMING_SNAKE_CASE names.

/// `AuthHandler` → `AUTH_HANDLER`, `HTTPServer` → `HTTP_SERVER`,
/// `Sha256` → `SHA256`, `Auth_Handler` → `AUTH_HANDLER`.
pub(crate) fn screaming_snake(ident: &str) -> String {
    let chars: Vec<char> = ident.chars().collect();
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let boundary = c.is_uppercase()
            && match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(char::is_lowercase),
                _ => false,
            };
        if boundary && !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        out.extend(c.to_uppercase());
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::screaming_snake;

    #[test]
    fn words_split_at_case_changes() {
        for (ident, name) in [
            ("Conversation", "CONVERSATION"),
            ("AuthHandler", "AUTH_HANDLER"),
            ("Llm", "LLM"),
            ("HTTPServer", "HTTP_SERVER"),
            ("ApiV2", "API_V2"),
            ("V2Api", "V2_API"),
            ("Sha256", "SHA256"),
            ("Auth_Handler", "AUTH_HANDLER"),
            ("READ", "READ"),
            ("A", "A"),
            ("_Hidden", "HIDDEN"),
        ] {
            assert_eq!(screaming_snake(ident), name, "{ident}");
        }
    }
}
