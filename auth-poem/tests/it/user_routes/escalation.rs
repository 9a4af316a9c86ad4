//! No route hands out a role or permission the caller lacks.

use super::*;

#[tokio::test]
async fn granting_permissions_one_lacks_is_403() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let admin = login(&cli, "admin", ADMIN_PASSWORD).await;
    let body = json!({"username": "clerk", "password": "clerk-password", "permissions": {"USERS": ["WRITE", "READ"]}});
    call(&cli, "POST", "/auth/users", Some(&body), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    let clerk = login(&cli, "clerk", "clerk-password").await;
    let escalate = json!({"username": "boss", "password": "boss-password", "permissions": {"USERS": ["DELETE"]}});
    let resp = call(&cli, "POST", "/auth/users", Some(&escalate), Some(&clerk)).await;
    resp.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(json_of(resp).await["error"], "forbidden");
    let modest = json!({"username": "helper", "password": "helper-password", "permissions": {"USERS": ["READ"]}});
    call(&cli, "POST", "/auth/users", Some(&modest), Some(&clerk))
        .await
        .assert_status(StatusCode::CREATED);
}

/// What `clerk` (every USERS permission and the base set, no role) may
/// not hand out: a role bringing a permission the clerk lacks, the
/// superuser role, a permission the clerk lacks.
fn escalations() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "role",
            json!(["moderator"]),
            json!({"roles": ["moderator"]}),
        ),
        (
            "superuser role",
            json!(["admin"]),
            json!({"roles": ["admin"]}),
        ),
        (
            "undefined role",
            json!(["editor"]),
            json!({"roles": ["editor"]}),
        ),
        (
            "permission",
            json!([]),
            json!({"permissions": {"SETTINGS": ["EDIT"]}}),
        ),
    ]
}

#[tokio::test]
async fn no_route_grants_a_role_or_permission_the_caller_lacks_nor_changes_the_callers_own() {
    let roles = RoleMap::new()
        .superuser("admin")
        .role("moderator", [(R::Memory, P::Delete)].into_iter().collect())
        .role("lister", [(R::Users, P::List)].into_iter().collect());
    let built = build_with_roles(roles, &[], |p| p).await;
    let cli = client(&built.auth);
    let admin = login(&cli, "admin", ADMIN_PASSWORD).await;
    let mut clerk_permissions = PermissionSet::base();
    for p in [P::Read, P::Write, P::Edit, P::List, P::Delete] {
        clerk_permissions.insert(R::Users, p);
    }
    let clerk_body = json!({
        "username": "clerk",
        "password": "clerk-password",
        "permissions": clerk_permissions,
    });
    let resp = call(&cli, "POST", "/auth/users", Some(&clerk_body), Some(&admin)).await;
    resp.assert_status(StatusCode::CREATED);
    let clerk_id = json_of(resp).await["client_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let other_body = json!({"username": "other", "password": "other-password"});
    let resp = call(&cli, "POST", "/auth/users", Some(&other_body), Some(&admin)).await;
    resp.assert_status(StatusCode::CREATED);
    let other = json_of(resp).await["client_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let clerk = login(&cli, "clerk", "clerk-password").await;
    let admin_id = json_of(call(&cli, "GET", "/auth/me", None, Some(&admin)).await).await["id"]
        .as_str()
        .expect("admin id")
        .to_owned();
    let snapshot = |id: String| {
        let cli = &cli;
        let admin = admin.clone();
        async move {
            let user =
                json_of(call(cli, "GET", &format!("/auth/users/{id}"), None, Some(&admin)).await)
                    .await;
            (user["roles"].clone(), user["permissions"].clone())
        }
    };

    let mut refused = 0;
    for (what, roles, grant) in escalations() {
        let mut create_body = json!({"username": "boss", "password": "boss-password"});
        create_body
            .as_object_mut()
            .expect("object")
            .extend(grant.as_object().expect("object").clone());
        let mut attempts: Vec<(&str, String, Value)> = vec![
            ("POST", "/auth/users".into(), create_body),
            ("PUT", format!("/auth/users/{other}"), grant.clone()),
            ("PUT", format!("/auth/users/{clerk_id}"), grant.clone()),
        ];
        if roles != json!([]) {
            for target in [&other, &clerk_id] {
                attempts.push(("POST", format!("/auth/users/{target}/roles"), roles.clone()));
            }
        }
        for (method, path, body) in attempts {
            let before_other = snapshot(other.clone()).await;
            let before_clerk = snapshot(clerk_id.clone()).await;
            let resp = call(&cli, method, &path, Some(&body), Some(&clerk)).await;
            assert_eq!(
                resp.0.status(),
                StatusCode::FORBIDDEN,
                "{what}: {method} {path} {body}"
            );
            assert_eq!(
                json_of(resp).await["error"],
                "forbidden",
                "{what}: {method} {path}"
            );
            assert_eq!(
                snapshot(other.clone()).await,
                before_other,
                "{what}: {method} {path}"
            );
            assert_eq!(
                snapshot(clerk_id.clone()).await,
                before_clerk,
                "{what}: {method} {path}"
            );
            refused += 1;
        }
    }
    assert_eq!(refused, 18);
    let boss =
        json_of(call(&cli, "GET", "/auth/users?username=boss", None, Some(&admin)).await).await;
    assert_eq!(boss["users"], json!([]), "no refused create stored a user");

    // Even what the clerk could grant another, the clerk may not give itself.
    for (method, path, body) in [
        (
            "PUT",
            format!("/auth/users/{clerk_id}"),
            json!({"roles": ["lister"]}),
        ),
        (
            "POST",
            format!("/auth/users/{clerk_id}/roles"),
            json!(["lister"]),
        ),
        (
            "DELETE",
            format!("/auth/users/{clerk_id}/roles"),
            json!(["lister"]),
        ),
        (
            "PUT",
            format!("/auth/users/{clerk_id}"),
            json!({"permissions": {"USERS": ["READ"]}}),
        ),
    ] {
        let resp = call(&cli, method, &path, Some(&body), Some(&clerk)).await;
        assert_eq!(
            resp.0.status(),
            StatusCode::FORBIDDEN,
            "self: {method} {path}"
        );
        assert!(
            json_of(resp).await["detail"]
                .as_str()
                .is_some_and(|d| d.contains("your own")),
            "self: {method} {path}"
        );
    }
    // The administrator is out of the clerk's reach: no password reset, no
    // disabling, no deleting, no taking roles away.
    for (method, path, body) in [
        (
            "PUT",
            format!("/auth/users/{admin_id}"),
            Some(json!({"password": "taken-over-password"})),
        ),
        ("POST", format!("/auth/users/{admin_id}/disable"), None),
        ("POST", format!("/auth/users/{admin_id}/enable"), None),
        (
            "DELETE",
            format!("/auth/users/{admin_id}/roles"),
            Some(json!(["admin"])),
        ),
        ("DELETE", format!("/auth/users/{admin_id}"), None),
    ] {
        let resp = call(&cli, method, &path, body.as_ref(), Some(&clerk)).await;
        assert_eq!(
            resp.0.status(),
            StatusCode::FORBIDDEN,
            "admin: {method} {path}"
        );
        assert_eq!(json_of(resp).await["error"], "forbidden");
    }
    login(&cli, "admin", ADMIN_PASSWORD).await;

    // What the clerk holds, it may grant to others.
    call(
        &cli,
        "POST",
        &format!("/auth/users/{other}/roles"),
        Some(&json!(["lister"])),
        Some(&clerk),
    )
    .await
    .assert_status_is_ok();
    let helper = json!({"username": "helper", "password": "helper-password", "roles": ["lister"],
        "permissions": {"USERS": ["READ"]}});
    call(&cli, "POST", "/auth/users", Some(&helper), Some(&clerk))
        .await
        .assert_status(StatusCode::CREATED);
    // And a superuser may grant the superuser role, to another.
    call(
        &cli,
        "POST",
        &format!("/auth/users/{other}/roles"),
        Some(&json!(["admin"])),
        Some(&admin),
    )
    .await
    .assert_status_is_ok();
    let resp = call(
        &cli,
        "DELETE",
        &format!("/auth/users/{admin_id}/roles"),
        Some(&json!(["admin"])),
        Some(&admin),
    )
    .await;
    resp.assert_status(StatusCode::FORBIDDEN);
}
