//! The services decide their rights themselves: called directly (as the API, a batch
//! or a future surface would) with a principal too weak for the change, they refuse
//! with the same 403 or field error the pages show, and change nothing.

use crate::helpers::*;
use tenantry::auth::password::PasswordHasher;
use tenantry::auth::Principal;
use tenantry::db::models::role::UserRole;
use tenantry::db::models::{Grant, User};
use tenantry::domain::account::{GbLimit, Password, PersonName};
use tenantry::domain::email::Email;
use tenantry::domain::{Feature, GrantRole, Level, Permissions, RoleName, Scope, Username};
use tenantry::error::AppError;
use tenantry::services::users::{
    Identity, NewUser, RoleChoice, UserChange, UserInput, UserSettings,
};
use tenantry::services::{grants, roles, users, Actor};

fn only(feature: Feature, level: Level) -> Permissions {
    let mut p = Permissions::none();
    p.set(feature, level);
    p
}

fn actor() -> Actor {
    Actor::system("test")
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, AppError>) {
    assert!(matches!(result, Err(AppError::Forbidden)), "{result:?}");
}

/// The message of the field error on `field`.
fn field_error<T: std::fmt::Debug>(result: Result<T, AppError>, field: &str) -> String {
    match result {
        Err(AppError::Validation(errors)) => errors
            .get(field)
            .cloned()
            .unwrap_or_else(|| panic!("no {field} error in {errors:?}")),
        other => panic!("expected a field error on {field}, got {other:?}"),
    }
}

fn settings(role_id: Option<i64>) -> UserSettings {
    UserSettings {
        role_id,
        enabled: true,
        storage_limit_gb: GbLimit::parse("").unwrap(),
        memory_limit_gb: GbLimit::parse("").unwrap(),
    }
}

fn new_user(name: &str) -> (NewUser, Password) {
    let identity = Identity {
        username: Username::parse(name).unwrap(),
        email: Some(Email::parse(&format!("{name}@example.com")).unwrap()),
        first_name: PersonName::parse("New").unwrap(),
        last_name: PersonName::parse("User").unwrap(),
    };
    let password = Password::parse("a long enough password", name).unwrap();
    (
        NewUser {
            identity,
            settings: settings(None),
        },
        password,
    )
}

async fn reload(app: &TestApp, user: &User) -> User {
    app.reload_user(user).await
}

async fn as_user(app: &TestApp, user: &User) -> Principal {
    app.principal(user).await
}

#[tokio::test]
async fn user_changes_need_users_full_dominance_and_no_stronger_role() {
    let app = spawn_app().await;
    let root = app.root.clone();
    let hasher = PasswordHasher::new(1).unwrap();
    let victim = app.user(&root, "victim").await;
    let reader = app
        .user_with_role(&root, "reader", only(Feature::Users, Level::Read))
        .await;
    let clerk = app
        .user_with_role(&root, "clerk", only(Feature::Users, Level::Full))
        .await;
    let big = app
        .user_with_role(&root, "big", Permissions::all(Level::Full))
        .await;
    let (reader, clerk) = (as_user(&app, &reader).await, as_user(&app, &clerk).await);
    let mut conn = app.conn().await;

    // Users Read only: 403 for every change, whoever the target.
    let change = || UserInput {
        role: RoleChoice::None,
        fields: Ok(UserChange {
            identity: None,
            settings: settings(None),
        })
        .into(),
    };
    forbidden(users::update(&mut conn, &reader, &actor(), &root, &victim, change()).await);
    forbidden(users::set_enabled(&mut conn, &reader, &actor(), &root, &victim, false).await);
    forbidden(users::delete(&mut conn, &reader, &actor(), &root, &victim).await);
    forbidden(
        users::reset_password(
            &mut conn,
            &reader,
            &actor(),
            &hasher,
            &root,
            &victim,
            "a long enough password",
        )
        .await,
    );
    let input = UserInput {
        role: RoleChoice::Id(big.role_id.unwrap()),
        fields: Ok(new_user("newbie")).into(),
    };
    forbidden(users::create(&mut conn, &reader, &actor(), &hasher, &root, input).await);

    // Users Full, but the admin holds rights the clerk lacks: 403.
    let admin = app.admin.clone();
    forbidden(users::set_enabled(&mut conn, &clerk, &actor(), &root, &admin, false).await);
    forbidden(users::delete(&mut conn, &clerk, &actor(), &root, &admin).await);

    // No role with more rights than the clerk's own, on create or edit.
    let stronger = || RoleChoice::Id(big.role_id.unwrap());
    let input = UserInput {
        role: stronger(),
        fields: Ok(new_user("newbie")).into(),
    };
    let message = field_error(
        users::create(&mut conn, &clerk, &actor(), &hasher, &root, input).await,
        "role_id",
    );
    assert!(message.starts_with("You cannot give a role with more rights than you hold"));
    let input = UserInput {
        role: stronger(),
        ..change()
    };
    field_error(
        users::update(&mut conn, &clerk, &actor(), &root, &victim, input).await,
        "role_id",
    );
    // A role of another tenant, or none where one is required: "choose a role".
    let input = UserInput {
        role: RoleChoice::Unknown,
        fields: Ok(new_user("newbie")).into(),
    };
    assert_eq!(
        field_error(
            users::create(&mut conn, &clerk, &actor(), &hasher, &root, input).await,
            "role_id"
        ),
        users::CHOOSE_ROLE
    );
    assert!(!User::username_taken(&mut conn, root.id, "newbie", None)
        .await
        .unwrap());
    assert_eq!(reload(&app, &victim).await.role_id, None);

    // What the clerk may do, the service does.
    let done = users::set_enabled(&mut conn, &clerk, &actor(), &root, &victim, false)
        .await
        .unwrap();
    assert!(!done.enabled);
    let own = UserRole::for_tenant(&mut conn, root.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == clerk.user.role_id.unwrap())
        .unwrap();
    let input = UserInput {
        role: RoleChoice::Id(own.id),
        fields: Ok(new_user("newbie")).into(),
    };
    let created = users::create(&mut conn, &clerk, &actor(), &hasher, &root, input)
        .await
        .unwrap();
    assert_eq!(created.role_id, Some(own.id));
}

#[tokio::test]
async fn grants_are_given_and_revoked_only_within_ones_own() {
    let app = spawn_app().await;
    let root = app.root.clone();
    let victim = app.user(&root, "victim").await;
    // Users Full at home, but no grant: no grant to give at all.
    let homed = app
        .user_with_role(&root, "homed", only(Feature::Users, Level::Full))
        .await;
    let deputy = app
        .user_with_role(&root, "deputy", only(Feature::Users, Level::Full))
        .await;
    app.grant(
        &deputy,
        &root,
        GrantRole::Administrator,
        Scope::Tenant,
        false,
    )
    .await;
    let (homed, deputy) = (as_user(&app, &homed).await, as_user(&app, &deputy).await);
    let mut conn = app.conn().await;
    let viewer = Ok((GrantRole::Viewer, Scope::Tenant, false));

    forbidden(
        grants::give(
            &mut conn,
            &homed,
            &actor(),
            &root,
            &Some(victim.id).into(),
            viewer.clone(),
        )
        .await,
    );
    // Stronger than the deputy's own grant: a field error on the role.
    for terms in [
        (GrantRole::Owner, Scope::Tenant, false),
        (GrantRole::Viewer, Scope::Subtree, false),
    ] {
        assert_eq!(
            field_error(
                grants::give(
                    &mut conn,
                    &deputy,
                    &actor(),
                    &root,
                    &Some(victim.id).into(),
                    Ok(terms)
                )
                .await,
                "role"
            ),
            grants::STRONGER
        );
    }
    // Replacing (or revoking) the admin's Owner grant is revoking one the deputy
    // could not give: 403.
    forbidden(
        grants::give(
            &mut conn,
            &deputy,
            &actor(),
            &root,
            &Some(app.admin.id).into(),
            viewer.clone(),
        )
        .await,
    );
    let owner_grant_id = Grant::existing(&mut conn, app.admin.id, root.id)
        .await
        .unwrap()
        .unwrap()
        .id;
    let owner_grant = Grant::find_on_tenant(&mut conn, root.id, owner_grant_id)
        .await
        .unwrap()
        .unwrap();
    forbidden(grants::revoke(&mut conn, &deputy, &actor(), &root, &owner_grant).await);
    // No such user, or none picked: the same field error.
    for user_id in [None, Some(i64::MAX)] {
        assert_eq!(
            field_error(
                grants::give(
                    &mut conn,
                    &deputy,
                    &actor(),
                    &root,
                    &user_id.into(),
                    viewer.clone()
                )
                .await,
                "user_id"
            ),
            grants::CHOOSE_USER
        );
    }
    assert!(Grant::existing(&mut conn, victim.id, root.id)
        .await
        .unwrap()
        .is_none());

    // Within the deputy's own: given.
    let subject = grants::give(
        &mut conn,
        &deputy,
        &actor(),
        &root,
        &Some(victim.id).into(),
        viewer,
    )
    .await
    .unwrap();
    assert_eq!(subject.user.id, victim.id);
    assert!(Grant::existing(&mut conn, victim.id, root.id)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn roles_are_edited_only_within_ones_own() {
    let app = spawn_app().await;
    let root = app.root.clone();
    let reader = app
        .user_with_role(&root, "reader", only(Feature::Roles, Level::Read))
        .await;
    let editor = app
        .user_with_role(&root, "editor", only(Feature::Roles, Level::Full))
        .await;
    let (reader, editor) = (as_user(&app, &reader).await, as_user(&app, &editor).await);
    let mut conn = app.conn().await;
    let fields = |perms: Permissions| Ok((RoleName::parse("Helpers").unwrap(), perms));
    let modest = only(Feature::Roles, Level::Read);

    // Roles Read only: 403.
    forbidden(
        roles::create_user_role(
            &mut conn,
            &reader,
            &actor(),
            &root,
            fields(modest.clone()),
            false,
        )
        .await,
    );
    let editor_role = UserRole::for_tenant(&mut conn, root.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| Some(r.id) == editor.user.role_id)
        .unwrap();
    forbidden(roles::delete_user_role(&mut conn, &reader, &actor(), &root, &editor_role).await);

    // More than the editor holds: a field error on the permissions.
    let message = field_error(
        roles::create_user_role(
            &mut conn,
            &editor,
            &actor(),
            &root,
            fields(Permissions::all(Level::Full)),
            false,
        )
        .await,
        "permissions",
    );
    assert!(message.starts_with("You cannot give more rights than you hold yourself"));
    field_error(
        roles::update_user_role(
            &mut conn,
            &editor,
            &actor(),
            &root,
            &editor_role,
            fields(Permissions::all(Level::Full)),
        )
        .await,
        "permissions",
    );
    // Templates and tenant roles are for root administrators.
    assert_eq!(
        field_error(
            roles::create_user_role(
                &mut conn,
                &editor,
                &actor(),
                &root,
                fields(modest.clone()),
                true
            )
            .await,
            "multi_tenant"
        ),
        roles::TEMPLATES_IN_ROOT
    );
    forbidden(
        roles::create_tenant_role(&mut conn, &editor, &actor(), fields(modest.clone()), None).await,
    );
    assert!(!UserRole::name_taken(&mut conn, root.id, "Helpers", None)
        .await
        .unwrap());

    // Within the editor's own: created.
    let role = roles::create_user_role(&mut conn, &editor, &actor(), &root, fields(modest), false)
        .await
        .unwrap();
    assert_eq!(role.name, "Helpers");
}
