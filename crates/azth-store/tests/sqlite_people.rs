//! Users, users as admins manage them, roles and access in the SQLite store,
//! against a real SQLite file. One scenario runs through the driver-neutral
//! traits and asserts what the PostgreSQL code answers; it runs on SQLite
//! alone and, side by side, on both drivers with their observations
//! compared (that one needs the PostgreSQL test cluster, as `schema.rs`
//! does). The checks that need SQL (audit rows, `updated_at`, the
//! transaction scope) are SQLite-only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use azth_core::model::{User, UserStatus};
use azth_core::rbac::{Assignment, PermissionScope, Role};
use azth_core::{Actor, AuditContext};
use azth_store::postgres::PgStore;
use azth_store::sqlite::SqliteTx;
use azth_store::testing::{TestDb, TestSqlite};
use azth_store::{AdminUserPatch, NewTenant, NewUser, ProfilePatch, Store, StoreError, Tx, UserFilter};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// Asserts `actual == expected` and notes the value for the comparison of drivers.
macro_rules! check {
    ($log:expr, $label:expr, $actual:expr, $expected:expr $(,)?) => {{
        let actual = $actual;
        assert_eq!(actual, $expected, "{}", $label);
        $log.push(format!("{}: {:?}", $label, actual));
    }};
}

fn new_tenant(slug: &str) -> NewTenant {
    NewTenant {
        name: format!("Tenant {slug}"),
        slug: slug.to_owned(),
        domain: None,
        plan: "free".into(),
        settings: serde_json::json!({}),
    }
}

async fn make_tenant(store: &dyn Store, slug: &str) -> Uuid {
    let mut tx = store.system("test").await.unwrap();
    let t = tx.insert_tenant(&new_tenant(slug)).await.unwrap();
    tx.commit().await.unwrap();
    t.id
}

async fn tenant_tx(store: &dyn Store, tenant: Uuid) -> Box<dyn Tx> {
    store.tenant(&AuditContext::new(tenant, Actor::System)).await.unwrap()
}

fn new_user(email: &str, username: Option<&str>, hash: Option<&str>, first: &str, last: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        username: username.map(str::to_owned),
        password_hash: hash.map(str::to_owned),
        first_name: Some(first.to_owned()),
        last_name: Some(last.to_owned()),
        status: UserStatus::Active,
    }
}

/// A fixed time.
fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A time as both drivers store it (microseconds).
fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap()
}

fn kind(err: &StoreError) -> String {
    match err {
        StoreError::Conflict { field } => format!("conflict {}", field.as_deref().unwrap_or("-")),
        StoreError::MissingReference { .. } => "missing reference".into(),
        StoreError::NotFound => "not found".into(),
        StoreError::Unavailable(e) => format!("unavailable {e}"),
        StoreError::Internal(e) => format!("internal {e}"),
    }
}

fn emails(users: &[User]) -> Vec<String> {
    users.iter().map(|u| u.email.clone()).collect()
}

fn names(roles: &[Role]) -> Vec<String> {
    roles.iter().map(|r| r.name.clone()).collect()
}

/// A user without ids and times (they differ between drivers).
fn show(u: &User) -> String {
    format!(
        "{} {:?} {:?} {:?} {:?} {:?} {} ev={} pv={} mfa={} login={} deleted={}",
        u.email,
        u.username,
        u.first_name,
        u.last_name,
        u.avatar,
        u.phone,
        u.status.as_str(),
        u.email_verified,
        u.phone_verified,
        u.mfa_enabled,
        u.last_login_at.is_some(),
        u.deleted_at.is_some(),
    )
}

fn show_assignment(a: &Assignment, by: &[(Uuid, &str)]) -> String {
    let by = a.assigned_by.map(|id| by.iter().find(|(u, _)| *u == id).map_or("?", |(_, n)| *n));
    format!("{} by {:?} expires {:?}", a.role_name, by, a.expires_at)
}

fn filter(f: impl FnOnce(&mut UserFilter)) -> UserFilter {
    let mut filter = UserFilter { limit: 100, ..UserFilter::default() };
    f(&mut filter);
    filter
}

fn sorted(items: &[String]) -> bool {
    items.windows(2).all(|w| w[0] < w[1])
}

/// The scenario shared by both drivers: every method of `UserRepo`,
/// `AdminUserRepo`, `AccessRepo` and `RoleRepo`, with the answers the
/// PostgreSQL implementation gives. Returns what it saw, ids and times left out.
#[allow(clippy::too_many_lines)]
async fn scenario(store: &dyn Store) -> Vec<String> {
    let mut log: Vec<String> = Vec::new();
    let a = make_tenant(store, "a").await;
    let b = make_tenant(store, "b").await;

    // --- Users ---------------------------------------------------------
    let mut tx = tenant_tx(store, a).await;
    let alice = new_user("alice@example.com", Some("Alice"), Some("h1"), "Alice", "Liddell");
    let alice = tx.insert_user(a, &alice).await.unwrap();
    check!(
        log,
        "inserted",
        show(&alice),
        "alice@example.com Some(\"Alice\") Some(\"Alice\") Some(\"Liddell\") None None active \
        ev=false pv=false mfa=false login=false deleted=false"
    );
    assert_eq!(alice.tenant_id, a);
    assert_eq!(alice.created_at, alice.updated_at);
    let bob = NewUser { status: UserStatus::Pending, ..new_user("bob@example.com", None, None, "Bob", "Builder") };
    let bob = tx.insert_user(a, &bob).await.unwrap();
    check!(log, "pending", bob.status, UserStatus::Pending);
    let carol = tx
        .insert_user(a, &new_user("carol@example.com", Some("carol_1"), Some("h3"), "Carol", "Danvers"))
        .await
        .unwrap();
    let erin = new_user("erin@example.com", Some("erin"), Some("h5"), "Carolyn", "Example");
    let erin = tx.insert_user(a, &erin).await.unwrap();
    // A username that is another user's email: the email wins at sign-in.
    let gina = tx
        .insert_user(a, &new_user("gina@example.com", Some("bob@example.com"), Some("h7"), "Gina", "G"))
        .await
        .unwrap();
    let zoe = tx.insert_user(a, &new_user("zoë@example.com", None, Some("h8"), "Zoë", "Z")).await.unwrap();
    check!(log, "by id", tx.user_by_id(a, carol.id).await.unwrap().map(|u| show(&u)), Some(show(&carol)));
    check!(log, "by unknown id", tx.user_by_id(a, Uuid::now_v7()).await.unwrap().map(|u| u.id), None);
    tx.commit().await.unwrap();
    let people = [(alice.id, "alice"), (bob.id, "bob"), (carol.id, "carol"), (erin.id, "erin"), (gina.id, "gina")];

    let mut tx = tenant_tx(store, a).await;
    let err = tx.insert_user(a, &new_user("alice@example.com", None, None, "A", "B")).await.unwrap_err();
    check!(log, "same email", kind(&err), "conflict email");
    drop(tx);
    let mut tx = tenant_tx(store, a).await;
    let err = tx.insert_user(a, &new_user("alice2@example.com", Some("ALICE"), None, "A", "B")).await.unwrap_err();
    check!(log, "same username in another case", kind(&err), "conflict username");
    drop(tx);

    // --- Tenant B never reaches tenant A's rows --------------------------
    let mut tx = tenant_tx(store, b).await;
    let alice_b = tx.insert_user(b, &new_user("alice@example.com", None, Some("hb"), "Alice", "B")).await.unwrap();
    check!(log, "b: a's user by b's id", tx.user_by_id(b, alice.id).await.unwrap().map(|u| u.id), None);
    check!(log, "b: a's user by a's id", tx.user_by_id(a, alice.id).await.unwrap().map(|u| u.id), None);
    check!(log, "b: a's username", tx.user_credentials(b, "alice").await.unwrap().map(|c| c.user.id), None);
    let own = tx.user_credentials(b, "Alice@Example.com").await.unwrap().map(|c| c.user.id);
    check!(log, "b: own email", own == Some(alice_b.id), true);
    check!(log, "b: a's credentials by id", tx.user_credentials_by_id(b, alice.id).await.unwrap().is_none(), true);
    check!(log, "b: list", emails(&tx.list_users(b, &filter(|_| ())).await.unwrap()), vec!["alice@example.com"]);
    check!(log, "b: list a", tx.list_users(a, &filter(|_| ())).await.unwrap().len(), 0);
    check!(log, "b: find a's", tx.find_user(b, alice.id, true).await.unwrap().is_none(), true);
    let patch = ProfilePatch { first_name: Some(Some("Mallory".into())), ..ProfilePatch::default() };
    check!(log, "b: profile of a's", kind(&tx.update_profile(b, alice.id, &patch).await.unwrap_err()), "not found");
    let admin_patch = AdminUserPatch { email: Some("mallory@example.com".into()), ..AdminUserPatch::default() };
    check!(log, "b: admin update a's", tx.admin_update_user(b, alice.id, &admin_patch).await.unwrap().is_none(), true);
    check!(log, "b: delete a's", tx.soft_delete_user(b, alice.id).await.unwrap().is_none(), true);
    check!(log, "b: restore a's", tx.restore_user(b, alice.id).await.unwrap().is_none(), true);
    check!(log, "b: unlock a's", tx.unlock_user(b, alice.id).await.unwrap().is_none(), true);
    // Fixed times, so both drivers note the same values.
    let lock = at("2099-01-01T00:15:00.123456Z");
    tx.record_login_failure(b, alice.id, Some(lock)).await.unwrap();
    tx.record_login_success(b, alice.id, Some("stolen")).await.unwrap();
    tx.set_password_hash(b, alice.id, "stolen").await.unwrap();
    tx.commit().await.unwrap();

    // --- Credentials and sign-in counters --------------------------------
    let mut tx = tenant_tx(store, a).await;
    let creds = tx.user_credentials(a, "ALICE@EXAMPLE.COM").await.unwrap().unwrap();
    check!(
        log,
        "untouched by b",
        (creds.user.id == alice.id, creds.password_hash, creds.login_attempts),
        (true, Some("h1".to_owned()), 0)
    );
    check!(log, "untouched lock", creds.locked_until, None);
    let found = tx.user_credentials(a, "aLiCe").await.unwrap().map(|c| c.user.id);
    check!(log, "username in any case", found == Some(alice.id), true);
    let found = tx.user_credentials(a, "bob@example.com").await.unwrap().unwrap();
    check!(log, "email before username", (found.user.id == bob.id, found.password_hash), (true, None));
    let found = tx.user_credentials(a, "BOB@EXAMPLE.COM").await.unwrap().map(|c| c.user.id);
    check!(log, "email in capitals", found == Some(bob.id), true);
    let found = tx.user_credentials(a, "ZOË@EXAMPLE.COM").await.unwrap().map(|c| c.user.id);
    check!(log, "non-ASCII email in capitals", found == Some(zoe.id), true);
    check!(log, "nobody", tx.user_credentials(a, "nobody").await.unwrap().is_none(), true);
    let by_id = tx.user_credentials_by_id(a, bob.id).await.unwrap().unwrap();
    check!(log, "credentials by id", (show(&by_id.user), by_id.password_hash), (show(&bob), None));
    check!(
        log,
        "credentials by unknown id",
        tx.user_credentials_by_id(a, Uuid::now_v7()).await.unwrap().is_none(),
        true
    );

    tx.record_login_failure(a, alice.id, None).await.unwrap();
    tx.record_login_failure(a, alice.id, None).await.unwrap();
    tx.record_login_failure(a, alice.id, Some(lock)).await.unwrap();
    let creds = tx.user_credentials_by_id(a, alice.id).await.unwrap().unwrap();
    check!(log, "three failures", (creds.login_attempts, creds.locked_until), (3, Some(lock)));
    tx.record_login_failure(a, alice.id, None).await.unwrap();
    let creds = tx.user_credentials_by_id(a, alice.id).await.unwrap().unwrap();
    check!(log, "the lock stays", (creds.login_attempts, creds.locked_until), (4, Some(lock)));
    tx.commit().await.unwrap();

    let mut tx = tenant_tx(store, a).await;
    let unlocked = tx.unlock_user(a, alice.id).await.unwrap().unwrap();
    check!(log, "unlocked", show(&unlocked), show(&alice));
    let creds = tx.user_credentials_by_id(a, alice.id).await.unwrap().unwrap();
    check!(log, "after unlock", (creds.login_attempts, creds.locked_until), (0, None));
    check!(log, "unlock unknown", tx.unlock_user(a, Uuid::now_v7()).await.unwrap().is_none(), true);
    tx.record_login_failure(a, alice.id, Some(lock)).await.unwrap();
    tx.record_login_success(a, alice.id, Some("h1b")).await.unwrap();
    let creds = tx.user_credentials_by_id(a, alice.id).await.unwrap().unwrap();
    check!(
        log,
        "success",
        (creds.login_attempts, creds.locked_until, creds.password_hash.clone()),
        (0, None, Some("h1b".to_owned()))
    );
    check!(log, "last login", creds.user.last_login_at.is_some(), true);
    tx.record_login_success(a, alice.id, None).await.unwrap();
    let creds = tx.user_credentials_by_id(a, alice.id).await.unwrap().unwrap();
    check!(log, "no new hash keeps it", creds.password_hash, Some("h1b".to_owned()));
    tx.set_password_hash(a, bob.id, "hb").await.unwrap();
    let creds = tx.user_credentials_by_id(a, bob.id).await.unwrap().unwrap();
    check!(log, "password set", creds.password_hash, Some("hb".to_owned()));
    tx.commit().await.unwrap();

    // --- Profile ---------------------------------------------------------
    let mut tx = tenant_tx(store, a).await;
    let patch = ProfilePatch {
        username: Some(None),
        first_name: Some(Some("Alicia".into())),
        avatar: Some(Some("https://example.com/a.png".into())),
        ..ProfilePatch::default()
    };
    let patched = tx.update_profile(a, alice.id, &patch).await.unwrap();
    check!(
        log,
        "profile",
        show(&patched),
        "alice@example.com None Some(\"Alicia\") Some(\"Liddell\") Some(\"https://example.com/a.png\") None active \
        ev=false pv=false mfa=false login=true deleted=false"
    );
    check!(log, "updated_at moved", patched.updated_at > alice.updated_at, true);
    let patch = ProfilePatch { username: Some(Some("alice".into())), avatar: Some(None), ..ProfilePatch::default() };
    let patched = tx.update_profile(a, alice.id, &patch).await.unwrap();
    check!(
        log,
        "profile again",
        (patched.username, patched.avatar, patched.first_name),
        (Some("alice".to_owned()), None, Some("Alicia".to_owned()))
    );
    let err = tx.update_profile(a, Uuid::now_v7(), &ProfilePatch::default()).await.unwrap_err();
    check!(log, "profile of nobody", kind(&err), "not found");
    tx.commit().await.unwrap();
    let mut tx = tenant_tx(store, a).await;
    let patch = ProfilePatch { username: Some(Some("CAROL_1".into())), ..ProfilePatch::default() };
    check!(
        log,
        "profile: taken username",
        kind(&tx.update_profile(a, gina.id, &patch).await.unwrap_err()),
        "conflict username"
    );
    drop(tx);

    // --- Roles -----------------------------------------------------------
    let mut tx = tenant_tx(store, a).await;
    let catalog = tx.permission_catalog().await.unwrap();
    let catalog_names: Vec<String> = catalog.iter().map(|p| p.name.clone()).collect();
    check!(
        log,
        "catalog",
        (catalog.len(), catalog_names[0].as_str(), sorted(&catalog_names)),
        (21, "audit:read", true)
    );
    let system: Vec<&str> =
        catalog.iter().filter(|p| p.scope == PermissionScope::System).map(|p| p.name.as_str()).collect();
    check!(log, "system scope", system, vec!["tenants:create", "tenants:delete", "tenants:read", "tenants:update"]);
    let users_read = catalog.iter().find(|p| p.name == "users:read").unwrap();
    check!(
        log,
        "catalog row",
        (users_read.resource.as_str(), users_read.action.as_str(), users_read.description.is_some()),
        ("users", "read", true)
    );
    let roles = tx.list_roles(a, None, 100).await.unwrap();
    check!(log, "system roles", names(&roles), vec!["admin", "member", "owner"]);
    let counts: Vec<(bool, usize, bool)> =
        roles.iter().map(|r| (r.is_system, r.permissions.len(), sorted(&r.permissions))).collect();
    check!(log, "their grants", counts, vec![(true, 16, true), (true, 0, true), (true, 17, true)]);
    let (admin, member, owner) = (roles[0].clone(), roles[1].clone(), roles[2].clone());
    check!(log, "owner by name", tx.role_by_name(a, "owner").await.unwrap() == Some(owner.clone()), true);
    check!(log, "owner by id", tx.role_by_id(a, owner.id).await.unwrap() == Some(owner.clone()), true);
    check!(log, "names are exact", tx.role_by_name(a, "Owner").await.unwrap(), None);
    let auditor = tx.insert_role(a, "auditor", Some("Reads the log")).await.unwrap();
    check!(
        log,
        "new role",
        (auditor.name.as_str(), auditor.description.as_deref(), auditor.is_system, auditor.permissions.len()),
        ("auditor", Some("Reads the log"), false, 0)
    );
    check!(log, "new role times", auditor.created_at == auditor.updated_at, true);
    let wanted = vec!["users:read".to_owned(), "audit:read".to_owned(), "no:such".to_owned()];
    check!(
        log,
        "grants",
        tx.set_role_permissions(a, auditor.id, &wanted).await.unwrap(),
        vec!["audit:read", "users:read"]
    );
    let wanted = vec!["users:read".to_owned(), "roles:read".to_owned()];
    check!(
        log,
        "regrants",
        tx.set_role_permissions(a, auditor.id, &wanted).await.unwrap(),
        vec!["roles:read", "users:read"]
    );
    check!(
        log,
        "role shows grants",
        tx.role_by_id(a, auditor.id).await.unwrap().unwrap().permissions,
        vec!["roles:read", "users:read"]
    );
    check!(log, "no grants", tx.set_role_permissions(a, auditor.id, &[]).await.unwrap(), Vec::<String>::new());
    check!(
        log,
        "grants again",
        tx.set_role_permissions(a, auditor.id, &wanted).await.unwrap(),
        vec!["roles:read", "users:read"]
    );
    tx.commit().await.unwrap();

    let mut tx = tenant_tx(store, a).await;
    let renamed = tx.update_role(a, auditor.id, Some("reader"), Some(None)).await.unwrap().unwrap();
    check!(
        log,
        "renamed",
        (renamed.name.as_str(), renamed.description.clone(), renamed.permissions.len()),
        ("reader", None, 2)
    );
    check!(log, "role updated_at moved", renamed.updated_at > auditor.updated_at, true);
    let same = tx.update_role(a, auditor.id, None, None).await.unwrap().unwrap();
    check!(log, "nothing to change", (same.name.as_str(), same.description.clone()), ("reader", None));
    let described = tx.update_role(a, auditor.id, None, Some(Some("Reads"))).await.unwrap().unwrap();
    check!(log, "described", described.description.as_deref(), Some("Reads"));
    check!(log, "update unknown role", tx.update_role(a, Uuid::now_v7(), Some("x"), None).await.unwrap(), None);
    check!(log, "old name gone", tx.role_by_name(a, "auditor").await.unwrap(), None);
    check!(log, "new name", tx.role_by_name(a, "reader").await.unwrap().map(|r| r.id) == Some(auditor.id), true);
    let page = tx.list_roles(a, None, 2).await.unwrap();
    check!(log, "roles page 1", names(&page), vec!["admin", "member"]);
    let page = tx.list_roles(a, Some(("member".to_owned(), member.id)), 2).await.unwrap();
    check!(log, "roles page 2", names(&page), vec!["owner", "reader"]);
    let page = tx.list_roles(a, Some(("reader".to_owned(), auditor.id)), 2).await.unwrap();
    check!(log, "roles page 3", names(&page), Vec::<String>::new());
    // The same name, a greater id: the row itself is excluded, later ones are not.
    let page = tx.list_roles(a, Some(("owner".to_owned(), Uuid::nil())), 10).await.unwrap();
    check!(log, "roles after (owner, nil)", names(&page), vec!["owner", "reader"]);
    tx.commit().await.unwrap();
    let mut tx = tenant_tx(store, a).await;
    check!(log, "role: taken name", kind(&tx.insert_role(a, "reader", None).await.unwrap_err()), "conflict name");
    drop(tx);
    let mut tx = tenant_tx(store, a).await;
    let err = tx.update_role(a, auditor.id, Some("owner"), None).await.unwrap_err();
    check!(log, "role: rename to a taken name", kind(&err), "conflict name");
    drop(tx);

    let mut tx = tenant_tx(store, b).await;
    let reader_b = tx.insert_role(b, "reader", None).await.unwrap();
    check!(log, "b: same role name", reader_b.name.as_str(), "reader");
    check!(log, "b: a's role", tx.role_by_id(b, auditor.id).await.unwrap(), None);
    check!(log, "b: a's role by a's id", tx.role_by_id(a, auditor.id).await.unwrap(), None);
    check!(log, "b: a's role by name", tx.role_by_name(a, "reader").await.unwrap(), None);
    let b_roles = tx.list_roles(b, None, 100).await.unwrap();
    check!(log, "b: roles", names(&b_roles), vec!["admin", "member", "owner", "reader"]);
    check!(
        log,
        "b: own ids",
        b_roles.iter().all(|r| ![admin.id, member.id, owner.id, auditor.id].contains(&r.id)),
        true
    );
    check!(log, "b: list a's", tx.list_roles(a, None, 100).await.unwrap().len(), 0);
    check!(log, "b: rename a's", tx.update_role(b, auditor.id, Some("hijack"), None).await.unwrap(), None);
    check!(log, "b: delete a's", tx.delete_role(b, auditor.id).await.unwrap(), false);
    check!(
        log,
        "b: clear a's grants",
        tx.set_role_permissions(b, auditor.id, &[]).await.unwrap(),
        Vec::<String>::new()
    );
    let b_owner = b_roles.iter().find(|r| r.name == "owner").unwrap().id;
    tx.commit().await.unwrap();
    let mut tx = tenant_tx(store, b).await;
    let err = tx.set_role_permissions(b, auditor.id, &["users:delete".to_owned()]).await.unwrap_err();
    check!(log, "b: grant on a's role", kind(&err), "missing reference");
    drop(tx);

    // --- Assignments and access --------------------------------------------
    let now = Utc::now();
    let (past, soon, later) =
        (at("2000-01-01T00:00:00Z"), at("2098-06-01T12:00:00.000001Z"), at("2099-06-01T00:00:00Z"));
    let mut tx = tenant_tx(store, a).await;
    let given = tx.assign_role(a, alice.id, owner.id, None, None).await.unwrap();
    check!(
        log,
        "assigned",
        (given.role_id == owner.id, show_assignment(&given, &people)),
        (true, "owner by None expires None".to_owned())
    );
    let given = tx.assign_role(a, carol.id, admin.id, Some(alice.id), Some(past)).await.unwrap();
    check!(
        log,
        "assigned, expired",
        show_assignment(&given, &people),
        format!("admin by Some(\"alice\") expires {:?}", Some(past))
    );
    tx.assign_role(a, erin.id, admin.id, None, Some(past)).await.unwrap();
    check!(log, "by name", tx.assign_role_by_name(a, bob.id, "member", Some(alice.id)).await.unwrap(), true);
    check!(log, "by name again", tx.assign_role_by_name(a, bob.id, "member", None).await.unwrap(), true);
    check!(log, "by unknown name", tx.assign_role_by_name(a, bob.id, "nosuch", None).await.unwrap(), false);
    let held: Vec<String> =
        tx.user_assignments(a, bob.id).await.unwrap().iter().map(|x| show_assignment(x, &people)).collect();
    check!(log, "kept the first assigner", held, vec!["member by Some(\"alice\") expires None"]);
    let held: Vec<String> =
        tx.user_assignments(a, carol.id).await.unwrap().iter().map(|x| show_assignment(x, &people)).collect();
    check!(log, "expired ones listed", held, vec![format!("admin by Some(\"alice\") expires {:?}", Some(past))]);
    check!(log, "expired grants nothing", tx.user_access(a, carol.id).await.unwrap(), (vec![], vec![]));
    check!(log, "expired: no access", tx.effective_access(a, carol.id).await.unwrap(), Default::default());
    let given = tx.assign_role(a, carol.id, admin.id, None, Some(soon)).await.unwrap();
    check!(log, "reassigned", show_assignment(&given, &people), format!("admin by None expires {:?}", Some(soon)));
    check!(log, "reassigned now", given.assigned_at > now, true);
    tx.assign_role(a, carol.id, auditor.id, Some(alice.id), Some(later)).await.unwrap();
    let held: Vec<String> =
        tx.user_assignments(a, carol.id).await.unwrap().iter().map(|x| show_assignment(x, &people)).collect();
    check!(
        log,
        "two roles",
        held,
        vec![
            format!("admin by None expires {:?}", Some(soon)),
            format!("reader by Some(\"alice\") expires {:?}", Some(later))
        ]
    );
    let (roles, perms) = tx.user_access(a, carol.id).await.unwrap();
    check!(
        log,
        "access",
        (roles, perms.len(), sorted(&perms), perms.contains(&"users:read".to_owned())),
        (vec!["admin".to_owned(), "reader".to_owned()], 16, true, true)
    );
    let access = tx.effective_access(a, carol.id).await.unwrap();
    check!(
        log,
        "effective",
        (access.roles.clone(), access.permissions.len(), access.system_scope, access.next_expiry),
        (vec!["admin".to_owned(), "reader".to_owned()], 16, false, Some(soon))
    );
    check!(log, "effective = access", access.permissions, tx.user_access(a, carol.id).await.unwrap().1);
    let access = tx.effective_access(a, alice.id).await.unwrap();
    check!(
        log,
        "owner access",
        (access.roles, access.permissions.len(), access.next_expiry),
        (vec!["owner".to_owned()], 17, None)
    );
    check!(log, "pending: no access", tx.effective_access(a, bob.id).await.unwrap(), Default::default());
    check!(
        log,
        "user_access ignores status",
        tx.user_access(a, bob.id).await.unwrap(),
        (vec!["member".to_owned()], vec![])
    );
    check!(log, "owners", tx.count_active_owners(a, None).await.unwrap(), 1);
    check!(log, "owners but alice", tx.count_active_owners(a, Some(alice.id)).await.unwrap(), 0);
    tx.assign_role(a, carol.id, owner.id, Some(alice.id), None).await.unwrap();
    check!(log, "two owners", tx.count_active_owners(a, None).await.unwrap(), 2);
    check!(log, "owners but carol", tx.count_active_owners(a, Some(carol.id)).await.unwrap(), 1);
    tx.assign_role(a, zoe.id, owner.id, None, Some(past)).await.unwrap();
    check!(log, "expired owners do not count", tx.count_active_owners(a, None).await.unwrap(), 2);
    tx.commit().await.unwrap();

    let mut tx = tenant_tx(store, b).await;
    check!(log, "b: a's owners", tx.count_active_owners(b, None).await.unwrap(), 0);
    check!(log, "b: a's owners by a's id", tx.count_active_owners(a, None).await.unwrap(), 0);
    check!(log, "b: a's assignments", tx.user_assignments(b, alice.id).await.unwrap().len(), 0);
    check!(log, "b: a's assignments by a's id", tx.user_assignments(a, alice.id).await.unwrap().len(), 0);
    check!(log, "b: a's access", tx.user_access(b, alice.id).await.unwrap(), (vec![], vec![]));
    check!(log, "b: a's access by a's id", tx.user_access(a, alice.id).await.unwrap(), (vec![], vec![]));
    check!(log, "b: a's effective access", tx.effective_access(b, alice.id).await.unwrap(), Default::default());
    check!(log, "b: a's effective by a's id", tx.effective_access(a, alice.id).await.unwrap(), Default::default());
    check!(log, "b: unassign a's", tx.unassign_role(b, alice.id, owner.id).await.unwrap(), false);
    tx.commit().await.unwrap();
    let mut tx = tenant_tx(store, a).await;
    let err = tx.assign_role(a, alice.id, b_owner, None, None).await.unwrap_err();
    check!(log, "b's role to a's user", kind(&err), "missing reference");
    drop(tx);
    let mut tx = tenant_tx(store, a).await;
    let err = tx.assign_role_by_name(a, alice_b.id, "member", None).await.unwrap_err();
    check!(log, "a's role to b's user", kind(&err), "missing reference");
    drop(tx);

    // --- Admin list --------------------------------------------------------
    let mut tx = tenant_tx(store, a).await;
    let everyone = [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "erin@example.com",
        "gina@example.com",
        "zoë@example.com",
    ];
    let all = tx.list_users(a, &filter(|_| ())).await.unwrap();
    check!(log, "list", emails(&all), everyone.to_vec());
    let cases: Vec<(&str, UserFilter, Vec<&str>)> = vec![
        ("q email/first name", filter(|f| f.q = Some("ALI".into())), vec!["alice@example.com"]),
        ("q underscore is literal", filter(|f| f.q = Some("carol_".into())), vec!["carol@example.com"]),
        ("q prefix", filter(|f| f.q = Some("carol".into())), vec!["carol@example.com", "erin@example.com"]),
        ("q percent is literal", filter(|f| f.q = Some("%".into())), vec![]),
        ("q backslash is literal", filter(|f| f.q = Some("\\".into())), vec![]),
        ("q username", filter(|f| f.q = Some("bob@".into())), vec!["bob@example.com", "gina@example.com"]),
        ("q last name", filter(|f| f.q = Some("dan".into())), vec!["carol@example.com"]),
        ("q non-ASCII email", filter(|f| f.q = Some("ZOË".into())), vec!["zoë@example.com"]),
        ("q no prefix inside", filter(|f| f.q = Some("example".into())), vec!["erin@example.com"]),
        ("status pending", filter(|f| f.status = Some(UserStatus::Pending)), vec!["bob@example.com"]),
        (
            "status active",
            filter(|f| f.status = Some(UserStatus::Active)),
            vec!["alice@example.com", "carol@example.com", "erin@example.com", "gina@example.com", "zoë@example.com"],
        ),
        ("role owner", filter(|f| f.role_name = Some("owner".into())), vec!["alice@example.com", "carol@example.com"]),
        ("role admin by id", filter(|f| f.role_id = Some(admin.id)), vec!["carol@example.com"]),
        ("role member", filter(|f| f.role_name = Some("member".into())), vec!["bob@example.com"]),
        ("role reader by id", filter(|f| f.role_id = Some(auditor.id)), vec!["carol@example.com"]),
        ("role unknown", filter(|f| f.role_name = Some("nosuch".into())), vec![]),
        ("role of b", filter(|f| f.role_id = Some(b_owner)), vec![]),
        (
            "role id or name",
            filter(|f| {
                f.role_id = Some(admin.id);
                f.role_name = Some("member".into());
            }),
            vec!["bob@example.com", "carol@example.com"],
        ),
        (
            "all filters",
            filter(|f| {
                f.q = Some("car".into());
                f.status = Some(UserStatus::Active);
                f.role_name = Some("owner".into());
            }),
            vec!["carol@example.com"],
        ),
        ("limit", filter(|f| f.limit = 1), vec!["alice@example.com"]),
        ("limit 0", filter(|f| f.limit = 0), vec![]),
    ];
    for (label, f, expected) in cases {
        check!(log, label, emails(&tx.list_users(a, &f).await.unwrap()), expected);
    }
    let mut seen = Vec::new();
    let mut after = None;
    for page in 0.. {
        let rows = tx
            .list_users(
                a,
                &filter(|f| {
                    f.limit = 2;
                    f.after = after;
                }),
            )
            .await
            .unwrap();
        log.push(format!("page {page}: {:?}", emails(&rows)));
        let Some(last) = rows.last() else { break };
        after = Some((last.created_at, last.id));
        seen.extend(emails(&rows));
        assert!(page < 5, "paging does not end");
    }
    check!(log, "pages", seen, everyone.to_vec());
    let rest = tx.list_users(a, &filter(|f| f.after = Some((carol.created_at, carol.id)))).await.unwrap();
    check!(log, "after carol", emails(&rest), everyone[3..].to_vec());
    tx.commit().await.unwrap();

    // --- Admin changes, delete, restore -------------------------------------
    let mut tx = tenant_tx(store, a).await;
    let patch = AdminUserPatch {
        email: Some("erin2@example.com".into()),
        phone: Some(Some("+15550001".into())),
        last_name: Some(None),
        status: Some(UserStatus::Suspended),
        ..AdminUserPatch::default()
    };
    let changed = tx.admin_update_user(a, erin.id, &patch).await.unwrap().unwrap();
    check!(
        log,
        "admin update",
        show(&changed),
        "erin2@example.com Some(\"erin\") Some(\"Carolyn\") None None Some(\"+15550001\") suspended \
        ev=false pv=false mfa=false login=false deleted=false"
    );
    check!(log, "admin updated_at moved", changed.updated_at > erin.updated_at, true);
    let same = tx.admin_update_user(a, erin.id, &AdminUserPatch::default()).await.unwrap().unwrap();
    check!(log, "empty admin patch", show(&same), show(&changed));
    let patch = AdminUserPatch {
        username: Some(Some("erin.x".into())),
        first_name: Some(None),
        avatar: Some(Some("https://example.com/e.png".into())),
        phone: Some(None),
        ..AdminUserPatch::default()
    };
    let changed = tx.admin_update_user(a, erin.id, &patch).await.unwrap().unwrap();
    check!(
        log,
        "admin update 2",
        show(&changed),
        "erin2@example.com Some(\"erin.x\") None None Some(\"https://example.com/e.png\") None suspended \
        ev=false pv=false mfa=false login=false deleted=false"
    );
    check!(log, "admin update unknown", tx.admin_update_user(a, Uuid::now_v7(), &patch).await.unwrap().is_none(), true);
    check!(log, "suspended: no access", tx.effective_access(a, erin.id).await.unwrap(), Default::default());
    tx.commit().await.unwrap();
    let mut tx = tenant_tx(store, a).await;
    let patch = AdminUserPatch { email: Some("alice@example.com".into()), ..AdminUserPatch::default() };
    check!(
        log,
        "admin: taken email",
        kind(&tx.admin_update_user(a, erin.id, &patch).await.unwrap_err()),
        "conflict email"
    );
    drop(tx);
    let mut tx = tenant_tx(store, a).await;
    let patch = AdminUserPatch { username: Some(Some("ALICE".into())), ..AdminUserPatch::default() };
    let err = tx.admin_update_user(a, erin.id, &patch).await.unwrap_err();
    check!(log, "admin: taken username", kind(&err), "conflict username");
    drop(tx);

    let mut tx = tenant_tx(store, a).await;
    let deleted = tx.soft_delete_user(a, gina.id).await.unwrap().unwrap();
    check!(log, "deleted", deleted.deleted_at.is_some(), true);
    check!(log, "deleted twice", tx.soft_delete_user(a, gina.id).await.unwrap().is_none(), true);
    check!(log, "deleted: by id", tx.user_by_id(a, gina.id).await.unwrap().is_none(), true);
    check!(log, "deleted: find", tx.find_user(a, gina.id, false).await.unwrap().is_none(), true);
    check!(
        log,
        "deleted: find all",
        tx.find_user(a, gina.id, true).await.unwrap().map(|u| show(&u)),
        Some(show(&deleted))
    );
    check!(log, "live: find", tx.find_user(a, bob.id, false).await.unwrap().map(|u| u.id) == Some(bob.id), true);
    check!(log, "deleted: credentials", tx.user_credentials(a, "gina@example.com").await.unwrap().is_none(), true);
    check!(log, "deleted: credentials by id", tx.user_credentials_by_id(a, gina.id).await.unwrap().is_none(), true);
    check!(
        log,
        "deleted: profile",
        kind(&tx.update_profile(a, gina.id, &ProfilePatch::default()).await.unwrap_err()),
        "not found"
    );
    check!(
        log,
        "deleted: admin update",
        tx.admin_update_user(a, gina.id, &AdminUserPatch::default()).await.unwrap().is_none(),
        true
    );
    check!(log, "deleted: unlock", tx.unlock_user(a, gina.id).await.unwrap().is_none(), true);
    check!(
        log,
        "deleted: not listed",
        tx.list_users(a, &filter(|_| ())).await.unwrap().iter().any(|u| u.id == gina.id),
        false
    );
    let listed = tx.list_users(a, &filter(|f| f.include_deleted = true)).await.unwrap();
    check!(log, "deleted: listed on demand", listed.iter().any(|u| u.id == gina.id), true);
    check!(log, "restore a live user", tx.restore_user(a, alice.id).await.unwrap().is_none(), true);
    let gina2 = tx.insert_user(a, &new_user("gina@example.com", None, None, "Gina", "Two")).await.unwrap();
    check!(log, "email freed", gina2.email.as_str(), "gina@example.com");
    tx.commit().await.unwrap();
    let mut tx = tenant_tx(store, a).await;
    check!(log, "restore: email taken", kind(&tx.restore_user(a, gina.id).await.unwrap_err()), "conflict email");
    drop(tx);
    let mut tx = tenant_tx(store, a).await;
    tx.soft_delete_user(a, gina2.id).await.unwrap().unwrap();
    let restored = tx.restore_user(a, gina.id).await.unwrap().unwrap();
    check!(log, "restored", (restored.deleted_at, restored.username), (None, Some("bob@example.com".to_owned())));
    check!(log, "restored: by id", tx.user_by_id(a, gina.id).await.unwrap().map(|u| u.id) == Some(gina.id), true);

    // Status changes count for owners; role deletion ends assignments.
    let patch = AdminUserPatch { status: Some(UserStatus::Inactive), ..AdminUserPatch::default() };
    tx.admin_update_user(a, carol.id, &patch).await.unwrap().unwrap();
    check!(log, "inactive owner", tx.count_active_owners(a, None).await.unwrap(), 1);
    let patch = AdminUserPatch { status: Some(UserStatus::Active), ..AdminUserPatch::default() };
    tx.admin_update_user(a, carol.id, &patch).await.unwrap().unwrap();
    check!(log, "active again", tx.count_active_owners(a, None).await.unwrap(), 2);
    check!(log, "unassign", tx.unassign_role(a, carol.id, owner.id).await.unwrap(), true);
    check!(log, "unassign twice", tx.unassign_role(a, carol.id, owner.id).await.unwrap(), false);
    check!(log, "one owner", tx.count_active_owners(a, None).await.unwrap(), 1);
    check!(log, "delete role", tx.delete_role(a, auditor.id).await.unwrap(), true);
    check!(log, "delete role twice", tx.delete_role(a, auditor.id).await.unwrap(), false);
    check!(log, "deleted role", tx.role_by_id(a, auditor.id).await.unwrap(), None);
    check!(log, "deleted role by name", tx.role_by_name(a, "reader").await.unwrap(), None);
    check!(
        log,
        "deleted role unlisted",
        names(&tx.list_roles(a, None, 100).await.unwrap()),
        vec!["admin", "member", "owner"]
    );
    let held: Vec<String> =
        tx.user_assignments(a, carol.id).await.unwrap().iter().map(|x| x.role_name.clone()).collect();
    check!(log, "its assignments end", held, vec!["admin"]);
    check!(log, "rename a deleted role", tx.update_role(a, auditor.id, Some("x"), None).await.unwrap(), None);
    let freed = tx.insert_role(a, "reader", None).await.unwrap();
    check!(log, "role name freed", freed.name.as_str(), "reader");
    tx.lock_tenant(a).await.unwrap();
    tx.commit().await.unwrap();

    // Tenant A's data is as A left it.
    let mut tx = tenant_tx(store, a).await;
    let owner_now = tx.role_by_id(a, owner.id).await.unwrap().unwrap();
    check!(log, "a's owner grants", owner_now.permissions, owner.permissions.clone());
    let creds = tx.user_credentials_by_id(a, alice.id).await.unwrap().unwrap();
    check!(
        log,
        "a's alice",
        (creds.user.email, creds.user.first_name, creds.password_hash),
        ("alice@example.com".to_owned(), Some("Alicia".to_owned()), Some("h1b".to_owned()))
    );
    drop(tx);
    log
}

#[tokio::test]
async fn users_admin_users_roles_and_access_behave_as_in_postgres() {
    let db = TestSqlite::migrated().await;
    let log = scenario(&db.store).await;
    assert!(log.len() > 100, "{}", log.len());
}

#[tokio::test]
async fn sqlite_and_postgres_see_the_same() {
    let sqlite = TestSqlite::migrated().await;
    let pg = TestDb::migrated().await;
    let pg_store = PgStore::connect_lazy(&pg.pg_config()).unwrap();
    let from_pg = scenario(&pg_store).await;
    let from_sqlite = scenario(&sqlite.store).await;
    let differ: Vec<(&String, &String)> = from_pg.iter().zip(&from_sqlite).filter(|(p, s)| p != s).collect();
    assert!(differ.is_empty(), "PostgreSQL vs SQLite: {differ:#?}");
    assert_eq!(from_pg.len(), from_sqlite.len());
}

// --- SQLite only: SQL-level checks ------------------------------------------

async fn setup() -> (TestSqlite, Uuid, Uuid, User) {
    let db = TestSqlite::migrated().await;
    let a = make_tenant(&db.store, "a").await;
    let b = make_tenant(&db.store, "b").await;
    let mut tx = tenant_tx(&db.store, a).await;
    let alice =
        tx.insert_user(a, &new_user("alice@example.com", Some("alice"), Some("h1"), "Alice", "L")).await.unwrap();
    tx.commit().await.unwrap();
    (db, a, b, alice)
}

async fn scalar<T>(tx: &mut SqliteTx, sql: &'static str, bind: Uuid) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send + Unpin,
{
    sqlx::query_scalar(sql).bind(bind.hyphenated()).fetch_one(tx.read().await.unwrap()).await.unwrap()
}

async fn updated_at(db: &TestSqlite, table: &'static str, id: Uuid) -> i64 {
    let sql = match table {
        "users" => "select updated_at from users where id = $1",
        _ => "select updated_at from roles where id = $1",
    };
    scalar(&mut db.store.system_tx("test"), sql, id).await
}

#[tokio::test]
async fn user_updates_are_audited_without_secrets() {
    let (db, a, _, alice) = setup().await;
    let ctx = AuditContext {
        tenant_id: a,
        actor: Actor::User(alice.id),
        ip: Some("203.0.113.5".parse().unwrap()),
        user_agent: Some("people-test".into()),
    };
    let mut tx = db.store.tenant_tx(&ctx);
    let patch = ProfilePatch { first_name: Some(Some("Alicia".into())), ..ProfilePatch::default() };
    azth_store::UserRepo::update_profile(&mut tx, a, alice.id, &patch).await.unwrap();
    azth_store::UserRepo::record_login_failure(&mut tx, a, alice.id, None).await.unwrap();
    azth_store::UserRepo::record_login_success(&mut tx, a, alice.id, Some("new-secret-hash")).await.unwrap();
    Box::new(tx).commit().await.unwrap();

    let mut tx = db.store.system_tx("test");
    let rows: Vec<(String, Option<String>, String, String, String, String)> = sqlx::query_as(
        "select old_values, new_values, user_id, actor, ip_address, user_agent from audit_logs
         where tenant_id = $1 and resource_type = 'users' and resource_id = $2 and action = 'UPDATE'
         order by created_at",
    )
    .bind(a.hyphenated())
    .bind(alice.id.hyphenated())
    .fetch_all(tx.read().await.unwrap())
    .await
    .unwrap();
    assert_eq!(rows.len(), 3, "one row per audited change: {rows:?}");
    for (old, new, user, actor, ip, agent) in &rows {
        let old: serde_json::Value = serde_json::from_str(old).unwrap();
        let new: serde_json::Value = serde_json::from_str(new.as_deref().unwrap()).unwrap();
        for doc in [&old, &new] {
            let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
            assert!(
                !keys.iter().any(|k| *k == "password_hash" || k.contains("token") || k.contains("secret")),
                "{keys:?}"
            );
            assert!(keys.iter().any(|k| *k == "email"), "{keys:?}");
        }
        assert!(!new.to_string().contains("new-secret-hash"));
        assert_eq!(
            (user.as_str(), actor.as_str(), ip.as_str(), agent.as_str()),
            (alice.id.hyphenated().to_string().as_str(), "user", "203.0.113.5", "people-test")
        );
    }
    let first: serde_json::Value = serde_json::from_str(rows[0].1.as_deref().unwrap()).unwrap();
    assert_eq!(first["first_name"], "Alicia");
    let leaked: i64 = scalar(
        &mut tx,
        "select count(*) from audit_logs, json_each(coalesce(audit_logs.new_values, '{}')) j
         where audit_logs.tenant_id = $1 and j.key = 'password_hash'",
        a,
    )
    .await;
    assert_eq!(leaked, 0);

    // A password change alone (a redacted column and updated_at) is not
    // audited, as in PostgreSQL.
    let before: i64 = scalar(&mut tx, "select count(*) from audit_logs where tenant_id = $1", a).await;
    drop(tx);
    let mut tx = db.store.tenant_tx(&ctx);
    azth_store::UserRepo::set_password_hash(&mut tx, a, alice.id, "another").await.unwrap();
    Box::new(tx).commit().await.unwrap();
    let mut tx = db.store.system_tx("test");
    let after: i64 = scalar(&mut tx, "select count(*) from audit_logs where tenant_id = $1", a).await;
    assert_eq!(after, before);
}

/// One updating method by name, on `user` or `role` of tenant `a`.
async fn step(tx: &mut Box<dyn Tx>, label: &str, a: Uuid, user: Uuid, role: Uuid) -> Result<(), StoreError> {
    match label {
        "login failure" => tx.record_login_failure(a, user, Some(Utc::now() + Duration::minutes(5))).await,
        "login success" => tx.record_login_success(a, user, None).await,
        "password" => tx.set_password_hash(a, user, "x").await,
        "profile" => {
            let patch = ProfilePatch { last_name: Some(None), ..ProfilePatch::default() };
            tx.update_profile(a, user, &patch).await.map(|_| ())
        }
        "admin update" => {
            let patch = AdminUserPatch { status: Some(UserStatus::Inactive), ..AdminUserPatch::default() };
            tx.admin_update_user(a, user, &patch).await.map(|_| ())
        }
        "unlock" => tx.unlock_user(a, user).await.map(|_| ()),
        "soft delete" => tx.soft_delete_user(a, user).await.map(|_| ()),
        "restore" => tx.restore_user(a, user).await.map(|_| ()),
        "update role" => tx.update_role(a, role, None, Some(Some("d"))).await.map(|_| ()),
        "delete role" => tx.delete_role(a, role).await.map(|_| ()),
        other => panic!("no step {other}"),
    }
}

#[tokio::test]
async fn every_update_moves_updated_at() {
    let (db, a, _, alice) = setup().await;
    let store: &dyn Store = &db.store;
    let mut tx = tenant_tx(store, a).await;
    let role = tx.insert_role(a, "auditor", None).await.unwrap();
    tx.commit().await.unwrap();
    let steps = [
        ("users", "login failure"),
        ("users", "login success"),
        ("users", "password"),
        ("users", "profile"),
        ("users", "admin update"),
        ("users", "unlock"),
        ("users", "soft delete"),
        ("users", "restore"),
        ("roles", "update role"),
        ("roles", "delete role"),
    ];
    for (table, label) in steps {
        let id = if table == "users" { alice.id } else { role.id };
        let before = updated_at(&db, table, id).await;
        let mut tx = tenant_tx(store, a).await;
        step(&mut tx, label, a, alice.id, role.id).await.unwrap();
        tx.commit().await.unwrap();
        let after = updated_at(&db, table, id).await;
        assert!(after > before, "{label}: updated_at did not move ({before} -> {after})");
    }
}

#[tokio::test]
async fn a_tenant_transaction_writes_only_its_own_tenant() {
    // PostgreSQL's row-level security makes these writes match no row (or
    // fail its WITH CHECK); the SQLite store refuses them outright.
    let (db, a, b, alice) = setup().await;
    let store: &dyn Store = &db.store;
    let mut tx = tenant_tx(store, b).await;
    let patch = AdminUserPatch { email: Some("mallory@example.com".into()), ..AdminUserPatch::default() };
    assert!(tx.admin_update_user(a, alice.id, &patch).await.is_err());
    assert!(tx.soft_delete_user(a, alice.id).await.is_err());
    assert!(tx.restore_user(a, alice.id).await.is_err());
    assert!(tx.unlock_user(a, alice.id).await.is_err());
    assert!(tx.record_login_failure(a, alice.id, None).await.is_err());
    assert!(tx.record_login_success(a, alice.id, Some("stolen")).await.is_err());
    assert!(tx.set_password_hash(a, alice.id, "stolen").await.is_err());
    assert!(tx.update_profile(a, alice.id, &ProfilePatch::default()).await.is_err());
    assert!(tx.insert_user(a, &new_user("m@example.com", None, None, "M", "M")).await.is_err());
    assert!(tx.insert_role(a, "hijack", None).await.is_err());
    let owner_a = {
        let mut sys = store.system("test").await.unwrap();
        sys.role_by_name(a, "owner").await.unwrap().unwrap()
    };
    assert!(tx.update_role(a, owner_a.id, Some("x"), None).await.is_err());
    assert!(tx.delete_role(a, owner_a.id).await.is_err());
    assert!(tx.set_role_permissions(a, owner_a.id, &[]).await.is_err());
    assert!(tx.assign_role(a, alice.id, owner_a.id, None, None).await.is_err());
    assert!(tx.assign_role_by_name(a, alice.id, "owner", None).await.is_err());
    assert!(tx.unassign_role(a, alice.id, owner_a.id).await.is_err());
    tx.commit().await.unwrap();

    // Re-assigning through B's id an assignment that A holds (the same user
    // and role ids) updates nothing.
    let mut tx = tenant_tx(store, a).await;
    let until = micros(Utc::now() + Duration::days(1));
    tx.assign_role(a, alice.id, owner_a.id, None, Some(until)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = tenant_tx(store, b).await;
    assert!(matches!(tx.assign_role(b, alice.id, owner_a.id, None, None).await, Err(StoreError::NotFound)));
    tx.commit().await.unwrap();

    let mut tx = tenant_tx(store, a).await;
    let user = tx.find_user(a, alice.id, true).await.unwrap().unwrap();
    assert_eq!((user.email.as_str(), user.deleted_at), ("alice@example.com", None));
    let creds = tx.user_credentials_by_id(a, alice.id).await.unwrap().unwrap();
    assert_eq!((creds.password_hash.as_deref(), creds.login_attempts), (Some("h1"), 0));
    assert_eq!(tx.role_by_id(a, owner_a.id).await.unwrap().unwrap(), owner_a);
    let held = tx.user_assignments(a, alice.id).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].expires_at, Some(until));
    assert_eq!(tx.count_active_owners(a, None).await.unwrap(), 1);
    assert!(tx.role_by_name(a, "hijack").await.unwrap().is_none());
}

/// Marks the user's email and phone (`+1555`) verified.
async fn verify(db: &TestSqlite, user: Uuid) {
    let mut tx = db.store.system_tx("test");
    sqlx::query("update users set email_verified = 1, phone_verified = 1, phone = '+1555' where id = $1")
        .bind(user.hyphenated())
        .execute(tx.write().await.unwrap())
        .await
        .unwrap();
    Box::new(tx).commit().await.unwrap();
}

#[tokio::test]
async fn email_and_phone_verification_reset_only_on_change() {
    let (db, a, _, alice) = setup().await;
    let store: &dyn Store = &db.store;
    let cases = [
        (AdminUserPatch { email: Some("alice@example.com".into()), ..AdminUserPatch::default() }, (true, true)),
        (AdminUserPatch { email: Some("alice2@example.com".into()), ..AdminUserPatch::default() }, (false, true)),
        (AdminUserPatch { phone: Some(Some("+1555".into())), ..AdminUserPatch::default() }, (true, true)),
        (AdminUserPatch { phone: Some(Some("+1666".into())), ..AdminUserPatch::default() }, (true, false)),
        (AdminUserPatch { phone: Some(None), ..AdminUserPatch::default() }, (true, false)),
        (AdminUserPatch { first_name: Some(None), ..AdminUserPatch::default() }, (true, true)),
    ];
    for (patch, expected) in cases {
        verify(&db, alice.id).await;
        let mut tx = tenant_tx(store, a).await;
        let user = tx.admin_update_user(a, alice.id, &patch).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert_eq!((user.email_verified, user.phone_verified), expected, "{patch:?}");
        // Put the email back for the next case.
        let mut tx = tenant_tx(store, a).await;
        let back = AdminUserPatch { email: Some("alice@example.com".into()), ..AdminUserPatch::default() };
        tx.admin_update_user(a, alice.id, &back).await.unwrap().unwrap();
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn a_negative_limit_is_refused_as_in_postgres() {
    let (db, a, _, _) = setup().await;
    let mut tx = tenant_tx(&db.store, a).await;
    assert!(matches!(tx.list_users(a, &filter(|f| f.limit = -1)).await, Err(StoreError::Internal(_))));
    assert!(matches!(tx.list_roles(a, None, -1).await, Err(StoreError::Internal(_))));
}
