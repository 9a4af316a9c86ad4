use super::*;

fn settings() -> LdapSettings {
    LdapSettings::bind_as_user("ldap://127.0.0.1:1", "uid={username},ou=people,dc=x")
}

#[test]
fn settings_are_checked_before_any_connection() {
    let mut s = settings();
    s.url = "http://x".into();
    assert!(LdapProvider::new(s).is_err());
    let mut s = settings();
    s.user_dn = Some("uid=fixed,dc=x".into());
    assert!(LdapProvider::new(s).is_err());
    let mut s = settings();
    s.user_dn = None;
    assert!(LdapProvider::new(s).is_err());
    let mut s = settings();
    s.bind_dn = Some("cn=svc,dc=x".into());
    assert!(
        LdapProvider::new(s).is_err(),
        "a service account needs its password"
    );
    let mut s = settings();
    s.url = "ldaps://x".into();
    s.starttls = true;
    assert!(LdapProvider::new(s).is_err());
    assert!(LdapProvider::new(settings()).is_ok());
}

#[test]
fn groups_map_to_roles_by_dn_or_cn() {
    let mut s = settings();
    s.roles
        .insert("admins".into(), BTreeSet::from(["admin".into()]));
    s.roles.insert(
        "CN=Staff,OU=Groups,DC=X".into(),
        BTreeSet::from(["reader".into()]),
    );
    let p = LdapProvider::new(s).expect("ok");
    let groups = BTreeSet::from([
        "cn=admins,ou=groups,dc=x".to_owned(),
        "cn=staff,ou=groups,dc=x".to_owned(),
        "cn=other,ou=groups,dc=x".to_owned(),
    ]);
    assert_eq!(
        p.roles_of(&groups),
        BTreeSet::from(["admin".to_owned(), "reader".to_owned()])
    );
}

#[tokio::test]
async fn an_empty_password_is_refused_without_asking_the_server() {
    // The URL points at a closed port: only a refusal that needs no
    // server answers Unauthenticated rather than Unavailable.
    let p = LdapProvider::new(settings()).expect("ok");
    for (username, password) in [("ann", ""), ("", "pw"), ("a\0b", "pw")] {
        let login = LdapLogin {
            username: username.into(),
            password: password.into(),
        };
        assert_eq!(
            AuthProvider::authenticate(&p, login).await.err(),
            Some(ManageError::Unauthenticated)
        );
    }
    let login = LdapLogin {
        username: "ann".into(),
        password: "pw".into(),
    };
    assert!(matches!(
        AuthProvider::authenticate(&p, login).await,
        Err(ManageError::Unavailable(_))
    ));
}

#[test]
fn debug_shows_no_password() {
    let login = LdapLogin {
        username: "ann".into(),
        password: "hunter22".into(),
    };
    assert!(!format!("{login:?}").contains("hunter22"));
}
