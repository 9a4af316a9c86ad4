//! End-to-end tests for poem-auth; the tests themselves live in `tests/tests/`.
