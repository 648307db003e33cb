//! Unit and property tests of every rule in `authz`, on a small fixed tree:
//!
//! ```text
//! 1 root ─┬─ 2 partner ─┬─ 3 child
//!         │             ├─ 5 read-only (cap: Read everywhere)
//!         │             └─ 6 no-audit  (cap: Full but Audit None)
//!         └─ 4 other (cap: Full but Audit and Invitations Read)
//! ```

use super::*;
use crate::db::models::role::TenantRole;
use crate::db::models::tenant::DomainClaim;
use crate::db::models::User;
use chrono::Utc;
use proptest::prelude::*;
use GrantRole::{Administrator, Owner, Viewer};
use Level::{Full, Read};
use Scope::{Subtree, Tenant as Only};

const ROOT: i64 = 1;
const PARTNER: i64 = 2;
const CHILD: i64 = 3;
const OTHER: i64 = 4;
const READ_ONLY: i64 = 5;
const NO_AUDIT: i64 = 6;

/// The tenant with this id in the fixed tree.
fn t(id: i64) -> Tenant {
    let (path, cap) = match id {
        ROOT => (vec![1], 1),
        PARTNER => (vec![1, 2], 1),
        CHILD => (vec![1, 2, 3], 1),
        OTHER => (vec![1, 4], 2),
        READ_ONLY => (vec![1, 2, 5], 3),
        NO_AUDIT => (vec![1, 2, 6], 4),
        _ => (vec![1, id], 1),
    };
    Tenant {
        id,
        parent_id: (path.len() > 1).then(|| path[path.len() - 2]),
        path,
        name: format!("t{id}"),
        description: String::new(),
        subdomain: format!("t{id}"),
        custom_domain: None,
        enabled: true,
        can_have_subtenants: true,
        tenant_role_id: cap,
        user_count: 0,
        instance_count: 0,
        created_at: Utc::now(),
        updated_at: Utc::now(),
        domain_claim: DomainClaim::default(),
        monthly_query_quota: None,
        limits: Default::default(),
        plan_id: None,
    }
}

const TREE: [i64; 6] = [ROOT, PARTNER, CHILD, OTHER, READ_ONLY, NO_AUDIT];

// Rules with a module of their own (fewer merge conflicts in this file).
mod resources;
mod rule_migration;

fn full_but(lower: &[(Feature, Level)]) -> Permissions {
    let mut p = Permissions::all(Full);
    for (f, l) in lower {
        p.set(*f, *l);
    }
    p
}

/// The tenant roles (caps) of the tree, by id.
fn caps() -> std::collections::HashMap<i64, TenantRole> {
    [
        (1, Permissions::all(Full)),
        (
            2,
            full_but(&[(Feature::Audit, Read), (Feature::Invitations, Read)]),
        ),
        (3, Permissions::all(Read)),
        (4, full_but(&[(Feature::Audit, Level::None)])),
    ]
    .into_iter()
    .map(|(id, permissions)| {
        let role = TenantRole {
            id,
            name: format!("cap {id}"),
            permissions,
        };
        (id, role)
    })
    .collect()
}

/// User `id` at home in `home` with these grants (tenant, role, scope, may manage).
fn who(id: i64, home: i64, grants: &[(i64, GrantRole, Scope, bool)]) -> Principal {
    let now = Utc::now();
    Principal {
        user: User {
            id,
            tenant_id: home,
            username: format!("u{id}"),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            password_hash: String::new(),
            enabled: true,
            source: crate::domain::UserSource::Local,
            session_epoch: 0,
            last_login_at: None,
            created_at: now,
            updated_at: now,
            role_id: None,
            storage_limit_gb: None,
            memory_limit_gb: None,
        },
        home: t(home),
        role: None,
        grants: grants
            .iter()
            .enumerate()
            .map(|(i, (tenant_id, role, scope, manage))| Grant {
                id: i as i64,
                tenant_id: *tenant_id,
                role: *role,
                scope: *scope,
                manage_subtenants: *manage,
            })
            .collect(),
        caps: caps(),
    }
}

/// The same user with a home role of these permissions.
fn with_role(mut p: Principal, permissions: Permissions) -> Principal {
    p.role = Some(crate::db::models::role::UserRole {
        id: 50,
        tenant_id: p.home.id,
        name: "home role".into(),
        permissions,
        multi_tenant: false,
        template_id: None,
        customised: false,
    });
    p
}

fn only(f: Feature, l: Level) -> Permissions {
    let mut p = Permissions::none();
    p.set(f, l);
    p
}

fn root_owner() -> Principal {
    who(1, ROOT, &[(ROOT, Owner, Subtree, true)])
}
fn root_admin() -> Principal {
    who(2, ROOT, &[(ROOT, Administrator, Subtree, true)])
}
fn partner_owner() -> Principal {
    who(3, PARTNER, &[(PARTNER, Owner, Subtree, true)])
}
fn partner_admin() -> Principal {
    who(4, PARTNER, &[(PARTNER, Administrator, Subtree, true)])
}
fn partner_viewer() -> Principal {
    who(5, PARTNER, &[(PARTNER, Viewer, Subtree, false)])
}
/// An Administrator of the partner alone: no sub-tenant scope, no managing.
fn partner_admin_here() -> Principal {
    who(6, PARTNER, &[(PARTNER, Administrator, Only, false)])
}
/// A plain user of the partner whose home role holds everything.
fn partner_user_full() -> Principal {
    with_role(who(7, PARTNER, &[]), Permissions::all(Full))
}

// ---------------------------------------------------------------- decide

#[test]
fn decide_takes_the_strongest_reason_under_the_cap() {
    let p = with_role(
        who(10, PARTNER, &[(PARTNER, Viewer, Subtree, false)]),
        only(Feature::Users, Full),
    );
    let d = decide(&p, &t(PARTNER), Feature::Users);
    assert_eq!(d.feature, Feature::Users);
    assert_eq!(d.level, Full);
    assert_eq!(d.home_role, Some(("home role".into(), Full)));
    assert_eq!(d.grants.len(), 1);
    assert_eq!(d.grants[0].1, Read);
    assert_eq!(d.cap, ("cap 1".into(), Full));
    // Below home only the grant reaches.
    let d = decide(&p, &t(CHILD), Feature::Users);
    assert_eq!((d.level, d.home_role), (Read, None));
    // Outside the grant nothing does.
    let d = decide(&p, &t(OTHER), Feature::Users);
    assert_eq!(d.level, Level::None);
    assert!(d.grants.is_empty());
    // The cap lowers a grant.
    let d = decide(&root_owner(), &t(OTHER), Feature::Audit);
    assert_eq!(d.level, Read);
    assert_eq!(d.cap, ("cap 2".into(), Read));
    assert_eq!(
        effective_level(&root_owner(), &t(OTHER), Feature::Users),
        Full
    );
    // The root is never capped.
    assert_eq!(
        decide(&root_owner(), &t(ROOT), Feature::Audit).cap.0,
        "not capped (root)"
    );
    // A user without a home role is told so.
    let d = decide(&who(11, PARTNER, &[]), &t(PARTNER), Feature::Users);
    assert_eq!(d.home_role, Some(("no role".into(), Level::None)));
    assert_eq!(d.level, Level::None);
}

#[test]
fn effective_permissions_are_every_features_level() {
    assert_eq!(
        effective_permissions(&root_owner(), &t(OTHER)),
        full_but(&[(Feature::Audit, Read), (Feature::Invitations, Read)])
    );
    assert_eq!(
        effective_permissions(&partner_viewer(), &t(CHILD)),
        Permissions::all(Read)
    );
}

#[test]
fn grant_role_is_the_strongest_covering_grant() {
    let p = who(
        12,
        OTHER,
        &[
            (ROOT, Viewer, Subtree, false),
            (PARTNER, Administrator, Only, false),
        ],
    );
    assert_eq!(grant_role(&p, &t(PARTNER)), Some(Administrator));
    assert_eq!(grant_role(&p, &t(CHILD)), Some(Viewer));
    assert_eq!(grant_role(&partner_admin_here(), &t(CHILD)), None);
    assert_eq!(covering_grants(&p, &t(PARTNER)).count(), 2);
}

#[test]
fn users_see_their_home_and_what_their_grants_reach() {
    assert!(can_see(&who(13, CHILD, &[]), &t(CHILD)));
    assert!(!can_see(&who(13, CHILD, &[]), &t(PARTNER)));
    assert!(can_see(&partner_viewer(), &t(CHILD)));
    assert!(!can_see(&partner_admin_here(), &t(CHILD)));
    assert!(!can_see(&partner_owner(), &t(OTHER)));
}

#[test]
fn visibility_is_a_filter_unless_the_whole_tree_is_seen() {
    assert_eq!(visibility(&root_owner()), Visibility::All);
    assert_eq!(
        visibility(&who(14, ROOT, &[(ROOT, Owner, Only, true)])),
        Visibility::Within {
            subtree_roots: vec![],
            tenants: vec![ROOT, ROOT],
        }
    );
    // A subtree grant on the root held from elsewhere is still a filter.
    assert_eq!(
        visibility(&who(
            15,
            OTHER,
            &[(ROOT, Viewer, Subtree, false), (CHILD, Viewer, Only, false)]
        )),
        Visibility::Within {
            subtree_roots: vec![ROOT],
            tenants: vec![OTHER, CHILD],
        }
    );
}

#[test]
fn require_passes_at_or_above_the_level() {
    let v = partner_viewer();
    assert!(require(&v, &t(PARTNER), Feature::Users, Read).is_ok());
    assert!(require(&v, &t(PARTNER), Feature::Users, Level::None).is_ok());
    assert!(matches!(
        require(&v, &t(PARTNER), Feature::Users, Full),
        Err(AppError::Forbidden)
    ));
}

// ---------------------------------------------------------------- the tree

#[test]
fn global_administrators_hold_the_roots_whole_tree() {
    assert!(is_global_admin(&root_owner()));
    assert!(is_global_admin(&root_admin()));
    for p in [
        who(16, ROOT, &[(ROOT, Viewer, Subtree, false)]),
        who(16, ROOT, &[(ROOT, Owner, Only, true)]),
        who(16, OTHER, &[(ROOT, Owner, Subtree, true)]),
        who(16, ROOT, &[(PARTNER, Owner, Subtree, true)]),
        with_role(who(16, ROOT, &[]), Permissions::all(Full)),
    ] {
        assert!(!is_global_admin(&p), "{:?}", p.grants);
    }
}

#[test]
fn managing_sub_tenants_takes_a_managing_subtree_grant_and_tenants_full() {
    let parent = t(PARTNER);
    assert!(can_manage_children(&partner_owner(), &parent));
    assert!(can_delete_children(&partner_owner(), &parent));
    assert!(can_manage_children(&partner_admin(), &parent));
    assert!(!can_delete_children(&partner_admin(), &parent));
    for p in [
        partner_viewer(),
        partner_admin_here(),
        partner_user_full(),
        who(17, PARTNER, &[(PARTNER, Owner, Subtree, false)]),
        who(17, PARTNER, &[(PARTNER, Owner, Only, true)]),
    ] {
        assert!(!can_manage_children(&p, &parent), "{:?}", p.grants);
        assert!(!can_delete_children(&p, &parent), "{:?}", p.grants);
        assert!(matches!(
            require_manage_children(&p, &parent),
            Err(AppError::Forbidden)
        ));
    }
    assert!(require_manage_children(&partner_admin(), &parent).is_ok());
    // The read-only cap keeps even an Owner from managing below it.
    assert!(!can_manage_children(&partner_owner(), &t(READ_ONLY)));
    assert!(!can_delete_children(&partner_owner(), &t(READ_ONLY)));
}

#[test]
fn children_are_edited_by_their_parents_managers_and_the_root_by_its_administrators() {
    let (root, partner, child) = (t(ROOT), t(PARTNER), t(CHILD));
    assert!(can_edit(&partner_admin(), &child, Some(&partner)));
    assert!(!can_edit(&partner_admin_here(), &child, Some(&partner)));
    assert!(can_edit(&root_admin(), &root, None));
    assert!(can_edit(
        &who(18, ROOT, &[(ROOT, Administrator, Only, false)]),
        &root,
        None
    ));
    assert!(!can_edit(
        &who(18, ROOT, &[(ROOT, Viewer, Subtree, false)]),
        &root,
        None
    ));
    // A home role alone edits nothing.
    assert!(!can_edit(
        &with_role(who(18, ROOT, &[]), Permissions::all(Full)),
        &root,
        None
    ));
    assert!(require_edit(&root_admin(), &root, None).is_ok());
    assert!(matches!(
        require_edit(&partner_viewer(), &child, Some(&partner)),
        Err(AppError::Forbidden)
    ));
}

/// The Tenants page's row for tenant `id` of the fixed tree.
fn row(id: i64) -> TenantListRow {
    let tenant = t(id);
    let parent = tenant.parent_id.map(t);
    TenantListRow {
        id,
        name: tenant.name,
        subdomain: tenant.subdomain,
        enabled: true,
        can_have_subtenants: true,
        role_name: String::new(),
        instance_count: 0,
        user_count: 0,
        created_at: Utc::now(),
        path: tenant.path,
        parent_id: tenant.parent_id,
        parent_name: parent.as_ref().map(|p| p.name.clone()),
        parent_role_id: parent.as_ref().map(|p| p.tenant_role_id),
        labels: Vec::new(),
        subtree_users: 0,
        subtree_instances: 0,
    }
}

#[test]
fn a_listed_row_is_editable_exactly_when_its_tenant_is() {
    let principals = [
        root_owner(),
        root_admin(),
        partner_owner(),
        partner_admin(),
        partner_viewer(),
        partner_admin_here(),
        partner_user_full(),
        // Administrator with sub-tenant management on the partner only, from elsewhere.
        who(19, OTHER, &[(PARTNER, Administrator, Subtree, true)]),
    ];
    for (i, p) in principals.iter().enumerate() {
        for id in [PARTNER, CHILD, OTHER, READ_ONLY, NO_AUDIT] {
            let tenant = t(id);
            let parent = tenant.parent_id.map(t);
            assert_eq!(
                can_edit_row(p, &row(id)),
                can_edit(p, &tenant, parent.as_ref()),
                "principal {i}, tenant {id}"
            );
        }
    }
    // The grant-only administrator of the partner edits its children, not itself.
    let gina = who(19, OTHER, &[(PARTNER, Administrator, Subtree, true)]);
    assert!(can_edit_row(&gina, &row(CHILD)));
    assert!(!can_edit_row(&gina, &row(PARTNER)));
    // The root is never editable as a row.
    assert!(!can_edit_row(&root_owner(), &row(ROOT)));
}

#[test]
fn an_owner_who_cannot_edit_their_tenant_is_told_who_can() {
    let (partner, child) = (t(PARTNER), t(CHILD));
    // An Owner of the child alone: the child's settings belong to the partner's managers.
    let child_owner = who(30, CHILD, &[(CHILD, Owner, Subtree, true)]);
    let why = edit_refusal(&child_owner, &child, Some(&partner)).expect("a reason");
    assert!(why.contains("above t3"), "{why}");
    assert!(why.contains("an Owner of t3"), "{why}");
    // The parent is not visible to them: it is not named.
    assert!(!why.contains("t2"), "{why}");
    assert!(why.contains("the tenant above it"), "{why}");
    // Seeing the parent, it is named.
    let seeing = who(
        31,
        CHILD,
        &[
            (CHILD, Administrator, Subtree, true),
            (PARTNER, Viewer, Only, false),
        ],
    );
    let why = edit_refusal(&seeing, &child, Some(&partner)).expect("a reason");
    assert!(
        why.contains("sub-tenants of t2") && why.contains("an Administrator"),
        "{why}"
    );
    // Those who may edit, and Viewers, get no explanation.
    assert_eq!(edit_refusal(&partner_admin(), &child, Some(&partner)), None);
    assert_eq!(edit_refusal(&root_admin(), &t(ROOT), None), None);
    assert_eq!(
        edit_refusal(&partner_viewer(), &child, Some(&partner)),
        None
    );
}

#[test]
fn deleting_and_moving_take_an_owner_over_the_parent_and_never_the_root() {
    let (root, partner, child) = (t(ROOT), t(PARTNER), t(CHILD));
    assert!(can_delete(&partner_owner(), &child, Some(&partner)));
    assert!(!can_delete(&partner_admin(), &child, Some(&partner)));
    assert!(!can_delete(&root_owner(), &root, None));
    assert!(!can_delete(&root_owner(), &root, Some(&root)));
    assert!(can_move(&partner_owner(), &child, Some(&partner)));
    assert!(!can_move(&partner_admin(), &child, Some(&partner)));
    // Moving also takes managing the destination.
    assert!(can_move_to(
        &partner_owner(),
        &t(NO_AUDIT),
        Some(&partner),
        &child
    ));
    assert!(!can_move_to(
        &partner_owner(),
        &child,
        Some(&partner),
        &t(OTHER)
    ));
    assert!(!can_move_to(
        &partner_owner(),
        &child,
        Some(&partner),
        &t(READ_ONLY)
    ));
    assert!(!can_move_to(
        &partner_admin(),
        &child,
        Some(&partner),
        &t(NO_AUDIT)
    ));
    assert!(can_move_to(
        &root_owner(),
        &child,
        Some(&partner),
        &t(OTHER)
    ));
}

// ---------------------------------------------------------------- grants

#[test]
fn nobody_gives_a_grant_above_their_own() {
    let partner = t(PARTNER);
    let all = [
        (Owner, Subtree, true),
        (Owner, Only, false),
        (Administrator, Subtree, true),
        (Administrator, Subtree, false),
        (Administrator, Only, false),
        (Viewer, Subtree, false),
        (Viewer, Only, false),
    ];
    for (r, s, m) in all {
        assert!(can_give_grant(&partner_owner(), &partner, r, s, m));
        assert_eq!(
            can_give_grant(&partner_admin(), &partner, r, s, m),
            r != Owner,
            "{r:?} {s:?} {m}"
        );
        assert_eq!(
            can_give_grant(&partner_admin_here(), &partner, r, s, m),
            r != Owner && s == Only && !m,
            "{r:?} {s:?} {m}"
        );
        assert!(!can_give_grant(&partner_viewer(), &partner, r, s, m));
        assert!(!can_give_grant(&partner_user_full(), &partner, r, s, m));
        // Users Read under the cap: no giving at all.
        assert!(!can_give_grant(&partner_owner(), &t(READ_ONLY), r, s, m));
    }
    assert_eq!(
        grantable_roles(&partner_owner(), &partner),
        vec![Owner, Administrator, Viewer]
    );
    assert_eq!(
        grantable_roles(&partner_admin(), &partner),
        vec![Administrator, Viewer]
    );
    assert!(grantable_roles(&partner_viewer(), &partner).is_empty());
}

#[test]
fn revoking_or_replacing_a_grant_takes_the_right_to_give_it() {
    let partner = t(PARTNER);
    let admin = partner_admin_here();
    assert!(can_revoke_grant(&admin, &partner, (Viewer, Only, false)));
    assert!(!can_revoke_grant(
        &admin,
        &partner,
        (Viewer, Subtree, false)
    ));
    assert!(!can_revoke_grant(&admin, &partner, (Owner, Only, false)));
    assert!(can_replace_grant(&admin, &partner, None));
    assert!(can_replace_grant(
        &admin,
        &partner,
        Some((Administrator, Only, false))
    ));
    assert!(!can_replace_grant(
        &admin,
        &partner,
        Some((Owner, Only, false))
    ));
    assert!(!can_replace_grant(
        &admin,
        &partner,
        Some((Viewer, Only, true))
    ));
    assert!(!can_replace_grant(
        &partner_viewer(),
        &partner,
        Some((Viewer, Only, false))
    ));
}

/// `grant_covers` against a model: each part of a grant ordered on its own.
#[test]
fn a_grant_covers_another_when_it_is_at_least_as_strong_in_every_part() {
    fn rank_scope(s: Scope) -> u8 {
        match s {
            Only => 0,
            Subtree => 1,
        }
    }
    let mut every = Vec::new();
    for r in [Viewer, Administrator, Owner] {
        for s in [Only, Subtree] {
            for m in [false, true] {
                every.push((r, s, m));
            }
        }
    }
    for held in &every {
        for offered in &every {
            let model = held.0 >= offered.0
                && rank_scope(held.1) >= rank_scope(offered.1)
                && held.2 >= offered.2;
            assert_eq!(grant_covers(*held, *offered), model, "{held:?} {offered:?}");
        }
    }
    // The cases the invitation service relied on.
    assert!(grant_covers((Owner, Subtree, true), (Viewer, Only, false)));
    assert!(grant_covers((Viewer, Only, false), (Viewer, Only, false)));
    assert!(!grant_covers(
        (Viewer, Subtree, false),
        (Administrator, Only, false)
    ));
    assert!(!grant_covers(
        (Owner, Only, false),
        (Viewer, Subtree, false)
    ));
    assert!(!grant_covers(
        (Owner, Subtree, false),
        (Viewer, Subtree, true)
    ));
}

// ---------------------------------------------------------------- invitations

#[test]
fn owners_and_administrators_invite_viewers_and_plain_users_do_not() {
    let partner = t(PARTNER);
    assert!(can_invite(&partner_owner(), &partner));
    assert!(can_invite(&partner_admin_here(), &partner));
    assert!(!can_invite(&partner_viewer(), &partner));
    assert!(!can_invite(&partner_user_full(), &partner));
    // Invitations Read under the cap, though grants could be given there.
    assert!(!grantable_roles(&root_owner(), &t(OTHER)).is_empty());
    assert!(!can_invite(&root_owner(), &t(OTHER)));
}

#[test]
fn an_invitation_offers_no_more_than_the_inviter_may_give() {
    let partner = t(PARTNER);
    let admin = partner_admin();
    assert!(can_invite_grant(
        &admin,
        &partner,
        Administrator,
        Subtree,
        true
    ));
    assert!(!can_invite_grant(&admin, &partner, Owner, Only, false));
    assert!(!can_invite_grant(
        &root_owner(),
        &t(OTHER),
        Viewer,
        Only,
        false
    ));
    let full = Permissions::all(Full);
    assert!(can_invite_with_role(&admin, &partner, &full));
    assert!(!can_invite_with_role(&partner_user_full(), &partner, &full));
    assert!(!can_invite_with_role(
        &partner_user_full(),
        &partner,
        &Permissions::none()
    ));

    let grant = |role| Offer::Grant {
        role,
        scope: Only,
        manage_subtenants: false,
    };
    assert!(can_offer(&admin, &partner, grant(Viewer), None));
    assert!(!can_offer(&admin, &partner, grant(Owner), None));
    assert!(can_offer(&admin, &partner, Offer::Role(1), Some(&full)));
    // A role that is gone is offered by nobody.
    assert!(!can_offer(&admin, &partner, Offer::Role(1), None));
    assert!(!can_offer(
        &partner_viewer(),
        &partner,
        Offer::Role(1),
        Some(&Permissions::none())
    ));

    assert!(can_manage_invitation(&admin, &partner, None, None));
    assert!(!can_manage_invitation(
        &partner_viewer(),
        &partner,
        None,
        None
    ));
    assert!(can_manage_invitation(
        &admin,
        &partner,
        Some(grant(Administrator)),
        None
    ));
    assert!(!can_manage_invitation(
        &admin,
        &partner,
        Some(grant(Owner)),
        None
    ));
    assert!(!can_manage_invitation(
        &admin,
        &partner,
        Some(Offer::Role(1)),
        None
    ));
}

// ---------------------------------------------------------------- user roles

#[test]
fn a_role_gives_no_more_than_its_giver_holds_after_the_cap() {
    let reader = with_role(who(20, READ_ONLY, &[]), Permissions::all(Read));
    let full = Permissions::all(Full);
    // The cap makes a Full role Read there: nothing beyond the reader's own.
    assert!(role_escalation(&reader, &t(READ_ONLY), &full).is_empty());
    assert_eq!(
        exceeds_own(&reader, &t(READ_ONLY), &full),
        Feature::ALL.to_vec()
    );
    let user = with_role(who(21, PARTNER, &[]), only(Feature::Users, Full));
    assert_eq!(
        role_escalation(&user, &t(PARTNER), &only(Feature::Roles, Read)),
        vec![Feature::Roles]
    );
    assert!(role_escalation(&user, &t(PARTNER), &only(Feature::Users, Full)).is_empty());
}

#[test]
fn roles_are_edited_with_roles_full_and_templates_by_root_administrators() {
    let (root, partner) = (t(ROOT), t(PARTNER));
    assert!(can_edit_roles(&partner_admin(), &partner));
    assert!(can_edit_roles(
        &with_role(who(22, PARTNER, &[]), only(Feature::Roles, Full)),
        &partner
    ));
    assert!(!can_edit_roles(&partner_viewer(), &partner));

    assert!(can_manage_tenant_roles(&root_admin()));
    assert!(!can_manage_tenant_roles(&partner_owner()));
    assert!(!can_manage_tenant_roles(&who(
        23,
        OTHER,
        &[(ROOT, Owner, Subtree, true)]
    )));
    assert!(!can_manage_tenant_roles(&with_role(
        who(23, ROOT, &[]),
        Permissions::all(Full)
    )));

    assert!(can_define_templates(&root_admin(), &root));
    assert!(!can_define_templates(&root_admin(), &partner));
    assert!(!can_define_templates(&partner_owner(), &partner));

    let read = Permissions::all(Read);
    assert!(can_change_role(&partner_admin(), &partner, false, &read));
    assert!(!can_change_role(&partner_admin(), &partner, true, &read));
    assert!(!can_change_role(&partner_viewer(), &partner, false, &read));
    assert!(can_change_role(&root_admin(), &root, true, &read));
    assert!(can_change_role(&root_admin(), &partner, true, &read));
}

#[test]
fn a_role_giving_more_than_the_editor_holds_is_not_theirs_to_change() {
    let partner = t(PARTNER);
    // Roles Full at home (no grant), every other feature Read.
    let mut own = Permissions::all(Read);
    own.set(Feature::Roles, Full);
    let editor = with_role(who(7, PARTNER, &[]), own.clone());
    assert!(can_change_role(&editor, &partner, false, &own));
    assert!(can_change_role(
        &editor,
        &partner,
        false,
        &Permissions::none()
    ));
    let mut more = own.clone();
    more.set(Feature::Tenants, Full);
    assert!(!can_change_role(&editor, &partner, false, &more));
    assert!(!can_change_role(
        &editor,
        &partner,
        false,
        &Permissions::all(Full)
    ));
}

// ---------------------------------------------------------------- paths and navigation

#[test]
fn names_are_visible_from_home_or_the_highest_grant_down() {
    let path = t(CHILD).path;
    assert_eq!(visible_path_start(&who(24, PARTNER, &[]), &path), 1);
    assert_eq!(visible_path_start(&who(24, CHILD, &[]), &path), 2);
    assert_eq!(
        visible_path_start(&who(24, OTHER, &[(PARTNER, Viewer, Only, false)]), &path),
        1
    );
    assert_eq!(visible_path_start(&root_owner(), &path), 0);
    // Nothing of the path is theirs: only its last tenant.
    assert_eq!(visible_path_start(&who(24, OTHER, &[]), &path), 2);
    assert_eq!(visible_path_start(&who(24, OTHER, &[]), &[]), 0);
}

#[test]
fn navigation_shows_the_links_that_lead_somewhere() {
    assert_eq!(
        navigation(&root_admin(), &t(ROOT)),
        Navigation {
            people: true,
            users: true,
            roles: true,
            tenant_roles: true,
            ingestion_keys: true,
            plans: true,
            resources: true,
            policies: true
        }
    );
    assert_eq!(
        navigation(
            &with_role(who(25, PARTNER, &[]), only(Feature::Users, Read)),
            &t(PARTNER)
        ),
        Navigation {
            people: true,
            users: true,
            roles: false,
            tenant_roles: false,
            ingestion_keys: false,
            plans: false,
            resources: false,
            policies: false
        }
    );
    assert_eq!(
        navigation(
            &with_role(who(25, PARTNER, &[]), only(Feature::Roles, Read)),
            &t(PARTNER)
        ),
        Navigation {
            people: false,
            users: false,
            roles: true,
            tenant_roles: false,
            ingestion_keys: false,
            plans: false,
            resources: false,
            policies: false
        }
    );
    // Policies read where one acts links its policies.
    assert!(
        navigation(
            &with_role(who(25, PARTNER, &[]), only(Feature::Policies, Read)),
            &t(PARTNER)
        )
        .policies
    );
    // Resources read where one acts links its resources; a cap or a role without it
    // does not.
    assert!(
        navigation(
            &with_role(who(25, PARTNER, &[]), only(Feature::Resources, Read)),
            &t(PARTNER)
        )
        .resources
    );
    assert!(navigation(&root_admin(), &t(PARTNER)).resources);
    assert!(!navigation(&who(25, PARTNER, &[]), &t(PARTNER)).resources);
    // A plain user of the root sees the link; someone holding a grant on the root too.
    assert!(navigation(&who(25, ROOT, &[]), &t(ROOT)).tenant_roles);
    assert!(navigation(&who(25, OTHER, &[(ROOT, Viewer, Only, false)]), &t(ROOT)).tenant_roles);
    // The installation's pages are linked while acting in the root only: switched into
    // a sub-tenant, the navigation is that tenant's.
    assert!(!navigation(&who(25, OTHER, &[(ROOT, Viewer, Only, false)]), &t(OTHER)).tenant_roles);
    let switched = navigation(&root_admin(), &t(PARTNER));
    assert!(!switched.tenant_roles && !switched.ingestion_keys);
    assert!(switched.users && switched.roles);
    assert!(
        !navigation(
            &who(25, OTHER, &[(PARTNER, Viewer, Subtree, false)]),
            &t(OTHER)
        )
        .tenant_roles
    );
}

#[test]
fn people_search_is_linked_for_those_it_finds_people_for() {
    // Everyone under a root grant; a subtree grant; a single-tenant grant.
    assert!(can_find_people(&root_owner()));
    assert!(can_find_people(&who(
        26,
        OTHER,
        &[(PARTNER, Viewer, Subtree, false)]
    )));
    assert!(can_find_people(&who(
        26,
        OTHER,
        &[(CHILD, Viewer, Only, false)]
    )));
    // A home role reading Users: their home, when its cap lets Users be read.
    let reader = |home| with_role(who(26, home, &[]), only(Feature::Users, Read));
    assert!(can_find_people(&reader(CHILD)));
    assert!(navigation(&reader(CHILD), &t(CHILD)).people);
    // A home role without Users and no grant: nobody to find, no link.
    let blind = with_role(who(26, CHILD, &[]), only(Feature::Roles, Read));
    assert!(!can_find_people(&blind));
    assert!(!navigation(&blind, &t(CHILD)).people);
    assert!(!can_find_people(&who(26, CHILD, &[])));
    // A tenant-only grant on their own home counts like a role reading Users …
    assert!(can_find_people(&who(
        26,
        CHILD,
        &[(CHILD, Viewer, Only, false)]
    )));
    // … unless the home's cap hides Users.
    let mut capped = reader(OTHER);
    if let Some(cap) = capped.caps.get_mut(&t(OTHER).tenant_role_id) {
        cap.permissions.set(Feature::Users, Level::None);
    }
    assert!(!can_find_people(&capped));
    // A root user reading Users finds the root's users (the root has no cap).
    assert!(can_find_people(&reader(ROOT)));
}

// ---------------------------------------------------------------- activity

#[test]
fn activity_takes_audit_read_and_the_subtree_a_subtree_grant() {
    // Administrators and Viewers of the partner read its activity and its subtree's.
    for p in [partner_admin(), partner_viewer(), root_owner()] {
        assert!(can_read_activity(&p, &t(PARTNER)));
        assert!(can_read_subtree_activity(&p, &t(PARTNER)));
        assert!(require_activity(&p, &t(CHILD)).is_ok());
    }
    // A cap without Audit: nothing, whatever the grant.
    assert!(!can_read_activity(&partner_admin(), &t(NO_AUDIT)));
    assert!(!can_read_subtree_activity(&partner_admin(), &t(NO_AUDIT)));
    assert!(matches!(
        require_activity(&partner_admin(), &t(NO_AUDIT)),
        Err(AppError::Forbidden)
    ));
    // A cap of Audit Read still reads.
    assert!(can_read_activity(&root_admin(), &t(OTHER)));
    // A tenant-only grant or a home role: the tenant's own events, not its subtree's.
    for p in [
        partner_admin_here(),
        partner_user_full(),
        with_role(who(26, PARTNER, &[]), only(Feature::Audit, Read)),
    ] {
        assert!(can_read_activity(&p, &t(PARTNER)), "{:?}", p.grants);
        // They read the subtree's events about the tenants they see.
        assert!(!can_read_subtree_activity(&p, &t(PARTNER)));
        assert!(require_activity(&p, &t(PARTNER)).is_ok());
    }
    // A home role without Audit; a tenant not reached at all.
    let no_audit = with_role(who(27, PARTNER, &[]), only(Feature::Users, Full));
    assert!(!can_read_activity(&no_audit, &t(PARTNER)));
    assert!(!can_read_activity(&partner_admin(), &t(OTHER)));
    assert!(!can_read_activity(&partner_admin(), &t(ROOT)));
}

#[test]
fn usage_statistics_take_usage_read_and_viewers_have_it() {
    for p in [
        partner_admin(),
        partner_viewer(),
        root_owner(),
        partner_admin_here(),
    ] {
        assert!(can_read_usage(&p, &t(PARTNER)), "{:?}", p.grants);
        assert!(require_usage(&p, &t(PARTNER)).is_ok());
    }
    // Not reached at all, or a home role without Usage.
    assert!(!can_read_usage(&partner_admin(), &t(OTHER)));
    assert!(!can_read_usage(&partner_admin(), &t(ROOT)));
    let no_usage = with_role(who(28, PARTNER, &[]), only(Feature::Users, Full));
    assert!(!can_read_usage(&no_usage, &t(PARTNER)));
    assert!(matches!(
        require_usage(&no_usage, &t(PARTNER)),
        Err(AppError::Forbidden)
    ));
    let reader = with_role(who(29, PARTNER, &[]), only(Feature::Usage, Read));
    assert!(can_read_usage(&reader, &t(PARTNER)));
}

#[test]
fn owners_subscribe_to_reports_and_usage_mail_goes_to_those_who_may_read_it() {
    // Owners over the tenant (on it or above with sub-tenant scope).
    assert!(can_subscribe_reports(&partner_owner(), &t(PARTNER)));
    assert!(can_subscribe_reports(&partner_owner(), &t(CHILD)));
    assert!(can_subscribe_reports(&root_owner(), &t(PARTNER)));
    let here = who(30, PARTNER, &[(PARTNER, Owner, Only, false)]);
    assert!(can_subscribe_reports(&here, &t(PARTNER)));
    assert!(!can_subscribe_reports(&here, &t(CHILD)));
    // Administrators, Viewers and home roles read the statistics but do not subscribe.
    for p in [partner_admin(), partner_viewer(), partner_user_full()] {
        assert!(can_read_usage(&p, &t(PARTNER)));
        assert!(!can_subscribe_reports(&p, &t(PARTNER)), "{:?}", p.grants);
        assert!(matches!(
            require_report_subscriber(&p, &t(PARTNER)),
            Err(AppError::Forbidden)
        ));
    }
    assert!(!can_subscribe_reports(&partner_owner(), &t(OTHER)));
    assert!(require_report_subscriber(&partner_owner(), &t(CHILD)).is_ok());
    // Mail: those who read the statistics, while they could log in.
    assert!(can_receive_usage_mail(&partner_viewer(), &t(CHILD)));
    assert!(!can_receive_usage_mail(&partner_owner(), &t(OTHER)));
    assert!(!can_receive_usage_mail(&here, &t(CHILD)));
    let mut disabled = partner_owner();
    disabled.user.enabled = false;
    assert!(!can_receive_usage_mail(&disabled, &t(PARTNER)));
    let mut home_off = partner_owner();
    home_off.home.enabled = false;
    assert!(!can_receive_usage_mail(&home_off, &t(PARTNER)));
    let no_usage = with_role(who(31, PARTNER, &[]), only(Feature::Users, Full));
    assert!(!can_receive_usage_mail(&no_usage, &t(PARTNER)));
}

#[test]
fn usage_mail_needs_access_first_and_then_an_address() {
    let with_address = |mut p: Principal| {
        p.user.email = format!("{}@example.com", p.user.username);
        p
    };
    assert_eq!(
        usage_mail_refusal(&with_address(partner_owner()), &t(CHILD)),
        None
    );
    // No address (the bootstrap admin has none): mail would reach no one.
    assert_eq!(
        usage_mail_refusal(&partner_owner(), &t(CHILD)),
        Some(UsageMailRefusal::NoEmail)
    );
    let mut blank = with_address(partner_owner());
    blank.user.email = "  ".into();
    assert_eq!(
        usage_mail_refusal(&blank, &t(PARTNER)),
        Some(UsageMailRefusal::NoEmail)
    );
    // Without access an address would not help: that is the reason given.
    assert_eq!(
        usage_mail_refusal(&with_address(partner_owner()), &t(OTHER)),
        Some(UsageMailRefusal::NoAccess)
    );
    assert_eq!(
        usage_mail_refusal(&partner_owner(), &t(OTHER)),
        Some(UsageMailRefusal::NoAccess)
    );
    let mut disabled = with_address(partner_owner());
    disabled.user.enabled = false;
    assert_eq!(
        usage_mail_refusal(&disabled, &t(PARTNER)),
        Some(UsageMailRefusal::NoAccess)
    );
}

#[test]
fn a_report_needs_at_send_time_what_subscribing_needs() {
    let with_address = |mut p: Principal| {
        p.user.email = format!("{}@example.com", p.user.username);
        p
    };
    // An Owner over the tenant with an address: sent.
    assert_eq!(
        report_mail_refusal(&with_address(partner_owner()), &t(CHILD)),
        None
    );
    // Still reading the statistics, no longer an Owner: not sent, for that reason
    // (whatever the address), while an alert would still reach them.
    for p in [partner_admin(), partner_viewer(), partner_user_full()] {
        assert!(can_receive_usage_mail(&p, &t(PARTNER)));
        assert_eq!(
            report_mail_refusal(&with_address(p.clone()), &t(PARTNER)),
            Some(UsageMailRefusal::NotOwner),
            "{:?}",
            p.grants
        );
        assert_eq!(
            report_mail_refusal(&p, &t(PARTNER)),
            Some(UsageMailRefusal::NotOwner)
        );
        assert_eq!(
            usage_mail_refusal(&with_address(p), &t(PARTNER)),
            None,
            "alerts are not reports"
        );
    }
    // A tenant-only Owner of the partner is no Owner of its child.
    let here = with_address(who(32, PARTNER, &[(PARTNER, Owner, Only, false)]));
    assert_eq!(report_mail_refusal(&here, &t(PARTNER)), None);
    assert_eq!(
        report_mail_refusal(&here, &t(CHILD)),
        Some(UsageMailRefusal::NoAccess)
    );
    // Lost access comes first; an Owner without an address gets nothing either.
    assert_eq!(
        report_mail_refusal(&with_address(partner_owner()), &t(OTHER)),
        Some(UsageMailRefusal::NoAccess)
    );
    let mut disabled = with_address(partner_viewer());
    disabled.user.enabled = false;
    assert_eq!(
        report_mail_refusal(&disabled, &t(PARTNER)),
        Some(UsageMailRefusal::NoAccess)
    );
    assert_eq!(
        report_mail_refusal(&partner_owner(), &t(CHILD)),
        Some(UsageMailRefusal::NoEmail)
    );
    // Exactly the subscribing rule: refused here whenever subscribing is.
    for p in [
        partner_owner(),
        partner_admin(),
        partner_viewer(),
        here.clone(),
    ] {
        for id in [PARTNER, CHILD, OTHER] {
            let p = with_address(p.clone());
            assert_eq!(
                report_mail_refusal(&p, &t(id)).is_none(),
                can_subscribe_reports(&p, &t(id)) && can_receive_usage_mail(&p, &t(id)),
                "{:?} on {id}",
                p.grants
            );
        }
    }
}

#[test]
fn own_details_are_edited_with_users_full_at_home_unless_managed() {
    assert!(can_edit_own_identity(&root_owner()));
    assert!(can_edit_own_identity(&partner_owner()));
    assert!(can_edit_own_identity(&partner_user_full()));
    assert!(!can_edit_own_identity(&partner_viewer()));
    let mut managed = root_owner();
    managed.user.source = crate::domain::UserSource::Ldap;
    assert!(!can_edit_own_identity(&managed));
}

// ---------------------------------------------------------------- dominance

fn subject(p: Principal) -> Subject {
    let grant_tenants = p
        .grants
        .iter()
        .filter(|g| TREE.contains(&g.tenant_id))
        .map(|g| (g.tenant_id, t(g.tenant_id)))
        .collect();
    Subject {
        principal: p,
        grant_tenants,
    }
}

#[test]
fn an_actor_acts_only_on_users_they_dominate() {
    assert_eq!(outranked(&root_owner(), &subject(partner_owner())), None);
    assert!(require_dominance(&root_owner(), &subject(partner_owner())).is_ok());
    assert_eq!(outranked(&partner_owner(), &subject(partner_admin())), None);
    // A grant the actor could not give.
    let refusal = outranked(&partner_admin(), &subject(partner_owner()));
    assert_eq!(
        refusal,
        Some(Outranked::Grant {
            tenant: "t2".into(),
            role: Owner,
            scope: Subtree,
        })
    );
    assert_eq!(
        refusal.map(|r| r.message()).as_deref(),
        Some("This user is Owner of t2 and its sub-tenants, a grant you could not give; you may not change them.")
    );
    let refusal = outranked(
        &partner_admin_here(),
        &subject(who(30, OTHER, &[(PARTNER, Viewer, Only, true)])),
    );
    assert_eq!(
        refusal.map(|r| r.message()).as_deref(),
        Some("This user is Viewer of t2, a grant you could not give; you may not change them.")
    );
    assert!(matches!(
        require_dominance(&partner_admin(), &subject(partner_owner())),
        Err(AppError::Forbidden)
    ));
    // Rights at the target's home the actor lacks.
    let refusal = outranked(
        &partner_admin(),
        &subject(with_role(who(31, OTHER, &[]), only(Feature::Audit, Read))),
    );
    assert_eq!(
        refusal,
        Some(Outranked::Rights {
            tenant: UNSEEN_TENANT.into(),
            features: vec![Feature::Audit],
        })
    );
    assert_eq!(
        Outranked::Rights {
            tenant: "t4".into(),
            features: vec![Feature::Users, Feature::Audit],
        }
        .message(),
        "This user holds rights in t4 that you do not hold (Users, Audit); you may not change them."
    );
    // A plain user below the actor's reach with everything: dominated.
    assert_eq!(
        outranked(&partner_admin(), &subject(partner_user_full())),
        None
    );
    // Oneself is not decided here.
    assert_eq!(
        outranked(&partner_admin(), &subject(partner_owner_as(4))),
        None
    );
    // A grant on a tenant that is gone gives nothing to compare.
    assert_eq!(
        outranked(
            &partner_admin(),
            &subject(who(32, CHILD, &[(99, Owner, Subtree, true)]))
        ),
        None
    );
}

/// A refusal never names a tenant the actor cannot see (it answers 404 to them).
#[test]
fn a_refusal_names_only_tenants_the_actor_sees() {
    let target = subject(who(40, PARTNER, &[(OTHER, Viewer, Only, false)]));
    let refusal = outranked(&partner_owner(), &target);
    assert_eq!(
        refusal,
        Some(Outranked::Grant {
            tenant: UNSEEN_TENANT.into(),
            role: Viewer,
            scope: Only,
        })
    );
    let message = refusal.map(|r| r.message()).unwrap_or_default();
    assert!(!message.contains("t4"), "{message}");
    assert_eq!(
        message,
        "This user is Viewer of a tenant you cannot see, a grant you could not give; you may not change them."
    );
    // Whoever sees the tenant reads its name.
    let target = subject(who(41, ROOT, &[(OTHER, Owner, Subtree, true)]));
    assert_eq!(
        outranked(&root_admin(), &target),
        Some(Outranked::Grant {
            tenant: "t4".into(),
            role: Owner,
            scope: Subtree,
        })
    );
    // Rights in a tenant the actor does not see: not named either.
    let target = subject(with_role(who(42, OTHER, &[]), only(Feature::Users, Read)));
    assert_eq!(
        outranked(&partner_owner(), &target).map(|r| r.reason()),
        Some("they hold rights in a tenant you cannot see that you do not hold (Users)".into())
    );
}

/// A change of a tenant that reaches its users (force delete, disable, new
/// subdomain) takes dominating every one of them, not only managing the tenant.
#[test]
fn a_tenant_change_takes_dominating_everyone_at_home_there() {
    let plain = subject(with_role(who(50, CHILD, &[]), Permissions::all(Full)));
    let admin = subject(who(51, CHILD, &[(CHILD, Administrator, Subtree, true)]));
    let root_owner_below = subject(who(52, CHILD, &[(ROOT, Owner, Subtree, true)]));
    let dominated = [plain.clone(), admin.clone()];
    for change in [
        HomedChange::Delete,
        HomedChange::Disable,
        HomedChange::Rename,
        HomedChange::Move,
    ] {
        assert!(require_dominates_homed(&partner_owner(), &[], change).is_ok());
        assert!(require_dominates_homed(&partner_owner(), &dominated, change).is_ok());
        assert!(require_dominates_homed(
            &root_owner(),
            &[admin.clone(), root_owner_below.clone()],
            change
        )
        .is_ok());
    }
    let all = [plain.clone(), root_owner_below.clone(), admin.clone()];
    let (who_, why) = outranked_homed(&partner_owner(), &all).expect("outranked");
    assert_eq!(who_.principal.user.id, 52);
    assert_eq!(
        why,
        Outranked::Grant {
            tenant: UNSEEN_TENANT.into(),
            role: Owner,
            scope: Subtree,
        }
    );
    assert_eq!(
        outranked_homed(&root_owner(), &all).map(|(s, _)| s.principal.user.id),
        None
    );
    // An Administrator of the partner does not dominate one of the child's Owners.
    let owner = subject(who(53, CHILD, &[(CHILD, Owner, Only, false)]));
    assert_eq!(
        outranked_homed(&partner_admin(), &[plain.clone(), owner.clone()])
            .map(|(s, _)| s.principal.user.id),
        Some(53)
    );
    match require_dominates_homed(&partner_owner(), &all, HomedChange::Delete) {
        Err(AppError::Conflict(m)) => assert_eq!(
            m,
            "Deleting it would delete t3\\u52, whom you may not change: they are Owner of a tenant you cannot see and its sub-tenants, a grant you could not give. Ask someone who holds at least their rights, or have their grants changed first."
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }
    match require_dominates_homed(&partner_owner(), &all, HomedChange::Disable) {
        Err(AppError::Conflict(m)) => {
            assert!(m.starts_with("Disabling it would lock out t3\\u52,"), "{m}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    match require_dominates_homed(&partner_owner(), &all, HomedChange::Rename) {
        Err(AppError::Validation(e)) => assert!(
            e["subdomain"].starts_with("A new subdomain would change the login of t3\\u52,"),
            "{e:?}"
        ),
        other => panic!("expected a field error, got {other:?}"),
    }
    match require_dominates_homed(&partner_owner(), &all, HomedChange::Move) {
        Err(AppError::Problem {
            kind: ProblemKind::Forbidden,
            detail,
        }) => assert!(
            detail.starts_with("Moving it would move t3\\u52, whom you may not change: they are Owner of a tenant you cannot see"),
            "{detail}"
        ),
        other => panic!("expected a 403, got {other:?}"),
    }
}

/// The partner's Owner, with another user id.
fn partner_owner_as(id: i64) -> Principal {
    let mut p = partner_owner();
    p.user.id = id;
    p
}

// ---------------------------------------------------------------- caps and owners

#[test]
fn installation_owners_hold_owner_on_the_roots_whole_tree() {
    assert!(is_global_owner(&root_owner()));
    assert!(is_global_owner(&who(
        40,
        OTHER,
        &[(ROOT, Owner, Subtree, false)]
    )));
    assert!(!is_global_owner(&root_admin()));
    assert!(!is_global_owner(&who(
        40,
        ROOT,
        &[(ROOT, Owner, Only, true)]
    )));
    assert!(!is_global_owner(&partner_owner()));
    let mut pathless = root_owner();
    pathless.home.path.clear();
    assert!(!is_global_owner(&pathless));
}

#[test]
fn a_lowered_cap_names_what_it_takes_away() {
    let less = full_but(&[(Feature::Users, Read), (Feature::Audit, Level::None)]);
    assert_eq!(
        lowered(&Permissions::all(Full), &less),
        vec![Feature::Users, Feature::Audit]
    );
    assert!(lowered(&less, &Permissions::all(Full)).is_empty());
    assert_eq!(
        only_owners_lower(&[Feature::Users, Feature::Audit]),
        "Only an Owner of the root tenant may lower a cap in use; this takes away Users, Audit."
    );
}

#[test]
fn only_a_root_owner_with_subtree_scope_approves_custom_domains() {
    assert!(can_approve_custom_domain(&root_owner()));
    for p in [
        who(41, ROOT, &[]),
        root_admin(),
        who(41, ROOT, &[(ROOT, Viewer, Subtree, false)]),
        who(41, ROOT, &[(ROOT, Owner, Only, true)]),
        who(41, ROOT, &[(PARTNER, Owner, Subtree, true)]),
        // A partner's Owner approves nothing, even for its own sub-tenants.
        partner_owner(),
    ] {
        assert!(!can_approve_custom_domain(&p), "{:?}", p.grants);
    }
    // An Owner of the whole root at home elsewhere (invited onto the root) may.
    assert!(can_approve_custom_domain(&who(
        41,
        PARTNER,
        &[(ROOT, Owner, Subtree, true)]
    )));
}

#[test]
fn caps_are_assigned_by_root_administrators_and_lowered_by_owners_only() {
    // Cap 2 takes Audit and Invitations away from cap 1.
    let (root, child) = (t(ROOT), t(CHILD));
    let (owner, admin) = (root_owner(), root_admin());
    // Nobody caps the root.
    for p in [&owner, &admin] {
        assert_eq!(
            tenant_role_assignment(p, &root, 2).unwrap(),
            Err(ROOT_NOT_CAPPED.to_string())
        );
    }
    assert!(matches!(
        tenant_role_assignment(&partner_owner(), &child, 2),
        Err(AppError::Forbidden)
    ));
    assert_eq!(
        tenant_role_assignment(&admin, &child, 99).unwrap(),
        Err(UNKNOWN_TENANT_ROLE.to_string())
    );
    assert_eq!(
        tenant_role_assignment(&admin, &child, 2).unwrap(),
        Err(only_owners_lower(&[Feature::Invitations, Feature::Audit]))
    );
    assert_eq!(tenant_role_assignment(&owner, &child, 2).unwrap(), Ok(()));
    assert_eq!(
        tenant_role_assignment(&admin, &t(OTHER), 1).unwrap(),
        Ok(())
    );
    // Editing a role: lowering one in use is for Owners; raising, or a role nobody
    // uses, for any root administrator.
    let full = Permissions::all(Full);
    let less = Permissions::all(Read);
    assert!(tenant_role_edit(&admin, &full, &less, 1).is_err());
    assert!(tenant_role_edit(&admin, &full, &less, 0).is_ok());
    assert!(tenant_role_edit(&admin, &less, &full, 3).is_ok());
    assert!(tenant_role_edit(&owner, &full, &less, 3).is_ok());
    // Hiding the root's public clouds from a role in use is lowering it too.
    assert!(public_clouds_edit(&admin, true, false, 2)
        .unwrap_err()
        .contains("away from the 2 tenants with this role"));
    assert!(public_clouds_edit(&admin, true, false, 0).is_ok());
    assert!(public_clouds_edit(&admin, false, true, 2).is_ok());
    assert!(public_clouds_edit(&admin, true, true, 2).is_ok());
    assert!(public_clouds_edit(&owner, true, false, 2).is_ok());
    assert_eq!(lowered(&full, &less), Feature::ALL.to_vec());
    // The root is never capped, whatever its row says.
    let mut odd_root = root;
    odd_root.tenant_role_id = 2;
    assert_eq!(owner.cap(&odd_root), Permissions::all(Full));
}

// ---------------------------------------------------------------- properties

fn arb_level() -> impl Strategy<Value = Level> {
    prop_oneof![Just(Level::None), Just(Read), Just(Full)]
}

fn arb_permissions() -> impl Strategy<Value = Permissions> {
    proptest::collection::vec(arb_level(), 10).prop_map(|levels| {
        let mut p = Permissions::none();
        for (f, l) in Feature::ALL.into_iter().zip(levels) {
            p.set(f, l);
        }
        p
    })
}

fn arb_grant() -> impl Strategy<Value = (i64, GrantRole, Scope, bool)> {
    (
        proptest::sample::select(TREE.to_vec()),
        prop_oneof![Just(Viewer), Just(Administrator), Just(Owner)],
        prop_oneof![Just(Only), Just(Subtree)],
        any::<bool>(),
    )
}

fn arb_principal(id: i64) -> impl Strategy<Value = Principal> {
    (
        proptest::sample::select(TREE.to_vec()),
        proptest::collection::vec(arb_grant(), 0..3),
        proptest::option::of(arb_permissions()),
    )
        .prop_map(move |(home, grants, role)| {
            let p = who(id, home, &grants);
            match role {
                Some(r) => with_role(p, r),
                None => p,
            }
        })
}

/// Does a grant reach the tenant: on it, or with sub-tenant scope on an ancestor?
fn model_reaches(g: &Grant, tenant: &Tenant) -> bool {
    g.tenant_id == tenant.id
        || (g.scope == Subtree && tenant.path[..tenant.path.len() - 1].contains(&g.tenant_id))
}

/// The permission model written out plainly: the best of the home role (at home)
/// and every grant on the tenant or, with sub-tenant scope, on an ancestor; then
/// the tenant's cap (none on the root).
fn model_level(p: &Principal, tenant: &Tenant, f: Feature) -> Level {
    model_level_under(p, tenant, f, &caps())
}

/// [`model_level`] under these tenant roles (caps) by id.
fn model_level_under(
    p: &Principal,
    tenant: &Tenant,
    f: Feature,
    caps: &std::collections::HashMap<i64, TenantRole>,
) -> Level {
    let mut best = Level::None;
    if tenant.id == p.home.id {
        if let Some(r) = &p.role {
            best = best.max(r.permissions.get(f));
        }
    }
    for g in &p.grants {
        if model_reaches(g, tenant) {
            best = best.max(match g.role {
                Viewer => Read,
                _ => Full,
            });
        }
    }
    let cap = if tenant.id == ROOT {
        Full
    } else {
        caps[&tenant.tenant_role_id].permissions.get(f)
    };
    best.min(cap)
}

/// The dominance rule written out plainly: acting on oneself is not judged here;
/// otherwise the actor holds, for each of the target's grants, a grant reaching its
/// tenant with at least its role (and at least Administrator), sub-tenant scope and
/// "may manage" where it has them; and at the target's home and grant tenants, at
/// least the target's level in every feature.
fn model_dominates(actor: &Principal, target: &Principal) -> bool {
    if actor.user.id == target.user.id {
        return true;
    }
    let rank = |r: GrantRole| match r {
        Viewer => 0,
        Administrator => 1,
        Owner => 2,
    };
    let gives = |g: &Grant| {
        let tenant = t(g.tenant_id);
        actor.grants.iter().any(|a| {
            model_reaches(a, &tenant)
                && rank(a.role) >= rank(g.role).max(1)
                && (g.scope == Only || a.scope == Subtree)
                && (!g.manage_subtenants || a.manage_subtenants)
        })
    };
    let reached = std::iter::once(target.home.id).chain(target.grants.iter().map(|g| g.tenant_id));
    target.grants.iter().all(gives)
        && reached.collect::<Vec<_>>().into_iter().all(|id| {
            let tenant = t(id);
            Feature::ALL
                .into_iter()
                .all(|f| model_level(target, &tenant, f) <= model_level(actor, &tenant, f))
        })
}

/// Users at home in a changed tenant: ids 10, 11, … (the actor among them or not).
fn arb_homed() -> impl Strategy<Value = Vec<Principal>> {
    proptest::collection::vec(arb_principal(0), 0..4).prop_map(|users| {
        users
            .into_iter()
            .enumerate()
            .map(|(i, mut p)| {
                p.user.id = 10 + i as i64;
                p.user.username = format!("u{}", p.user.id);
                p
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn effective_levels_follow_the_model(p in arb_principal(1)) {
        for id in TREE {
            let tenant = t(id);
            for f in Feature::ALL {
                prop_assert_eq!(effective_level(&p, &tenant, f), model_level(&p, &tenant, f));
            }
            prop_assert_eq!(
                can_see(&p, &tenant),
                id == p.home.id || p.grants.iter().any(|g| model_reaches(g, &tenant))
            );
        }
    }

    /// Dominance checked at the target's home and grant tenants holds everywhere:
    /// a dominated target holds nothing anywhere in the tree above the actor.
    #[test]
    fn a_dominated_user_holds_no_right_the_actor_lacks(
        actor in arb_principal(1),
        target in arb_principal(2),
    ) {
        if outranked(&actor, &subject(target.clone())).is_none() {
            for id in TREE {
                let tenant = t(id);
                prop_assert_eq!(
                    effective_permissions(&target, &tenant)
                        .exceeds(&effective_permissions(&actor, &tenant)),
                    Vec::<Feature>::new(),
                    "at t{}", id
                );
            }
        }
    }

    /// Whoever may give a grant dominates a fresh user holding just that grant.
    #[test]
    fn a_given_grant_is_one_the_giver_dominates(
        actor in arb_principal(1),
        (tenant, role, scope, manage) in arb_grant(),
    ) {
        let tenant = t(tenant);
        let manage = manage && scope == Subtree;
        if can_give_grant(&actor, &tenant, role, scope, manage) {
            let target = who(2, tenant.id, &[(tenant.id, role, scope, manage)]);
            prop_assert_eq!(outranked(&actor, &subject(target)), None);
        }
    }
    /// A change of a tenant goes through exactly when the model says the actor
    /// dominates everyone at home there; a refusal names the first one who is not,
    /// in the way each change answers.
    #[test]
    fn a_tenant_change_is_refused_by_the_first_user_the_actor_does_not_dominate(
        actor in arb_principal(1),
        homed in arb_homed(),
        actor_at_home in any::<bool>(),
    ) {
        let mut homed = homed;
        if actor_at_home {
            homed.insert(0, actor.clone());
        }
        let subjects: Vec<Subject> = homed.iter().cloned().map(subject).collect();
        let first = homed.iter().find(|target| !model_dominates(&actor, target));
        prop_assert_eq!(
            outranked_homed(&actor, &subjects).map(|(s, _)| s.principal.user.id),
            first.map(|p| p.user.id)
        );
        for change in [
            HomedChange::Delete,
            HomedChange::Disable,
            HomedChange::Rename,
            HomedChange::Move,
        ] {
            let result = require_dominates_homed(&actor, &subjects, change);
            let Some(first) = first else {
                prop_assert!(result.is_ok(), "{:?}: {:?}", change, result);
                continue;
            };
            let said = match (change, result) {
                (HomedChange::Delete | HomedChange::Disable, Err(AppError::Conflict(m))) => m,
                (HomedChange::Rename, Err(AppError::Validation(e))) => e["subdomain"].clone(),
                (
                    HomedChange::Move,
                    Err(AppError::Problem { kind: ProblemKind::Forbidden, detail }),
                ) => detail,
                (change, other) => {
                    return Err(TestCaseError::fail(format!("{change:?}: {other:?}")));
                }
            };
            let login = format!("{}, whom you may not change: ", first.login());
            prop_assert!(said.contains(&login), "{}", said);
        }
    }
}

#[test]
fn people_are_found_where_users_can_be_read() {
    // Everything under a subtree grant on the root, under every cap reading Users.
    let scope = people_scope(&root_owner());
    assert_eq!(scope.visibility, Visibility::All);
    assert_eq!(scope.readable_caps, vec![1, 2, 3, 4]);
    // A Viewer of one tenant: that tenant and their home, if their role reads Users.
    let viewer = with_role(
        who(50, PARTNER, &[(CHILD, Viewer, Only, false)]),
        only(Feature::Users, Read),
    );
    assert_eq!(
        people_scope(&viewer).visibility,
        Visibility::Within {
            subtree_roots: vec![],
            tenants: vec![PARTNER, CHILD],
        }
    );
    // A home role without Users: not even the home tenant.
    let plain = with_role(
        who(51, PARTNER, &[(CHILD, Viewer, Only, false)]),
        only(Feature::Audit, Read),
    );
    assert_eq!(
        people_scope(&plain).visibility,
        Visibility::Within {
            subtree_roots: vec![],
            tenants: vec![CHILD],
        }
    );
    // A cap without Users keeps its tenants out.
    let mut capped = root_owner();
    if let Some(role) = capped.caps.get_mut(&4) {
        role.permissions.set(Feature::Users, Level::None);
    }
    assert_eq!(people_scope(&capped).readable_caps, vec![1, 2, 3]);
}

#[test]
fn people_search_finds_everyone_seen_unless_a_cap_or_the_home_role_hides_some() {
    assert!(finds_everyone_seen(&root_owner()));
    let reader = with_role(
        who(50, PARTNER, &[(CHILD, Viewer, Only, false)]),
        only(Feature::Users, Read),
    );
    assert!(finds_everyone_seen(&reader));
    // A subtree grant on the home tenant reads Users there, whatever the home role.
    let granted = with_role(
        who(52, PARTNER, &[(PARTNER, Viewer, Subtree, false)]),
        only(Feature::Audit, Read),
    );
    assert!(finds_everyone_seen(&granted));
    // The home tenant is seen, but its people are not found.
    let plain = with_role(
        who(51, PARTNER, &[(CHILD, Viewer, Only, false)]),
        only(Feature::Audit, Read),
    );
    assert!(!finds_everyone_seen(&plain));
    // One cap hiding Users, wherever it is used, leaves its tenants' people out.
    for cap in [1, 4] {
        let mut capped = root_owner();
        if let Some(role) = capped.caps.get_mut(&cap) {
            role.permissions.set(Feature::Users, Level::None);
        }
        assert!(!finds_everyone_seen(&capped), "cap {cap}");
    }
}

#[test]
fn the_bulk_bar_is_for_those_who_manage_some_parent_in_view() {
    let paths = |ids: &[i64]| ids.iter().map(|id| t(*id).path).collect::<Vec<_>>();
    let may = |p: &Principal, ids: &[i64]| {
        let paths = paths(ids);
        may_bulk_change(p, paths.iter().map(Vec::as_slice))
    };
    // The partner's children: its managers may, its viewer and plain users may not.
    for p in [root_owner(), root_admin(), partner_owner(), partner_admin()] {
        assert!(may(&p, &[CHILD, READ_ONLY]), "{}", p.user.id);
    }
    for p in [partner_viewer(), partner_admin_here(), partner_user_full()] {
        assert!(!may(&p, &[CHILD, READ_ONLY]), "{}", p.user.id);
    }
    // The partner itself belongs to whoever manages the root's sub-tenants.
    assert!(!may(&partner_owner(), &[PARTNER, OTHER]));
    assert!(may(&root_admin(), &[PARTNER]));
    // The root: an Administrator's grant on it.
    assert!(may(&root_admin(), &[ROOT]));
    assert!(!may(&partner_owner(), &[ROOT]));
    // Nothing listed, nothing to change.
    assert!(!may(&root_owner(), &[]));
    // Agrees with `can_edit` on the fixed tree (caps aside: none lowers Tenants here
    // for these users).
    for p in [
        root_owner(),
        root_admin(),
        partner_owner(),
        partner_admin(),
        partner_viewer(),
        partner_admin_here(),
        partner_user_full(),
    ] {
        for id in [ROOT, PARTNER, CHILD, OTHER, NO_AUDIT] {
            let tenant = t(id);
            let parent = tenant.parent_id.map(t);
            assert_eq!(
                may(&p, &[id]),
                can_edit(&p, &tenant, parent.as_ref()),
                "user {} tenant {id}",
                p.user.id
            );
        }
    }
}

#[test]
fn ingestion_keys_are_for_root_owners_and_administrators() {
    // A grant on the root of Administrator or more, whatever its scope or the home.
    assert!(can_manage_ingestion_keys(&root_admin()));
    assert!(can_manage_ingestion_keys(&who(
        30,
        ROOT,
        &[(ROOT, Owner, Only, false)]
    )));
    assert!(can_manage_ingestion_keys(&who(
        31,
        PARTNER,
        &[(ROOT, Administrator, Only, false)]
    )));
    // A Viewer of the root, a plain root user, partner Owners: the page is not theirs.
    assert!(!can_manage_ingestion_keys(&who(
        32,
        ROOT,
        &[(ROOT, Viewer, Subtree, false)]
    )));
    assert!(!can_manage_ingestion_keys(&who(33, ROOT, &[])));
    assert!(!can_manage_ingestion_keys(&partner_owner()));
    assert!(matches!(
        require_ingestion_keys(&partner_owner()),
        Err(AppError::NotFound)
    ));
    assert!(require_ingestion_keys(&root_admin()).is_ok());
}

#[test]
fn plans_are_for_root_owners_and_administrators_and_options_follow_the_plan() {
    assert!(can_manage_plans(&root_admin()));
    assert!(can_manage_plans(&who(
        31,
        PARTNER,
        &[(ROOT, Administrator, Only, false)]
    )));
    assert!(!can_manage_plans(&who(
        32,
        ROOT,
        &[(ROOT, Viewer, Subtree, false)]
    )));
    assert!(!can_manage_plans(&who(33, ROOT, &[])));
    assert!(!can_manage_plans(&partner_owner()));
    assert!(matches!(
        require_plans(&partner_owner()),
        Err(AppError::NotFound)
    ));
    assert!(require_plans(&root_admin()).is_ok());
    // No plan: every option. A plan: exactly those it includes, else its reason.
    let mut plan = crate::db::models::plan::Plan {
        id: 1,
        name: "Basic".into(),
        monthly_query_quota: None,
        max_users: None,
        max_instances: None,
        storage_limit_gb: None,
        memory_limit_gb: None,
        custom_branding: false,
        custom_domain: false,
        sub_tenants: false,
        api_access: false,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    };
    use crate::domain::plan::PlanOption;
    for option in PlanOption::ALL {
        assert!(plan_allows(None, option));
        assert_eq!(plan_refusal(None, option), None);
        assert!(!plan_allows(Some(&plan), option));
        assert_eq!(
            plan_refusal(Some(&plan), option).as_deref(),
            Some("Not in plan Basic.")
        );
    }
    plan.custom_branding = true;
    assert!(plan_allows(Some(&plan), PlanOption::CustomBranding));
    assert!(!plan_allows(Some(&plan), PlanOption::ApiAccess));
}

// ---------------------------------------------------------------- views spanning a subtree

#[test]
fn a_subtree_view_leaves_out_the_tenants_whose_cap_takes_the_feature_away() {
    // No-audit (6) is capped by role 4 (Audit None): its events are not in the
    // partner's or the root's subtree activity, whoever reads; the root never is,
    // whatever its row says.
    for p in [root_owner(), partner_owner(), partner_viewer()] {
        let reading = subtree_reading(&p, &t(PARTNER), Feature::Audit);
        assert_eq!(reading.capped_roles, vec![4]);
        assert!(!reading.includes(&t(NO_AUDIT).path, 4));
        for id in [PARTNER, CHILD, READ_ONLY] {
            assert!(reading.includes(&t(id).path, t(id).tenant_role_id), "{id}");
        }
    }
    let reading = subtree_reading(&root_owner(), &t(ROOT), Feature::Audit);
    assert_eq!(reading.visibility, Visibility::All);
    assert!(reading.includes(&[ROOT], 4), "the root is never capped");
    // No cap takes Usage away: nothing to leave out (the statements stay as they are).
    let reading = subtree_reading(&root_owner(), &t(ROOT), Feature::Usage);
    assert!(reading.capped_roles.is_empty());
    assert!(TREE
        .iter()
        .all(|id| reading.includes(&t(*id).path, t(*id).tenant_role_id)));
    // A home seen only as a home whose role does not read Audit is left out; with a
    // role that does, or a grant on it, it is in.
    let lone = who(40, CHILD, &[(PARTNER, Viewer, Only, false)]);
    let reading = subtree_reading(&lone, &t(PARTNER), Feature::Audit);
    assert!(!reading.includes(&t(CHILD).path, 1));
    assert!(reading.includes(&t(PARTNER).path, 1));
    let reads = with_role(lone.clone(), full_but(&[]));
    assert!(subtree_reading(&reads, &t(PARTNER), Feature::Audit).includes(&t(CHILD).path, 1));
    let granted = who(
        41,
        CHILD,
        &[(PARTNER, Viewer, Only, false), (CHILD, Viewer, Only, false)],
    );
    assert!(subtree_reading(&granted, &t(PARTNER), Feature::Audit).includes(&t(CHILD).path, 1));
}

/// A random tree of up to 7 tenants (1 the root; each other's parent an earlier
/// one), each capped by one of three random tenant roles (the root's row too), and
/// a reader in it: home, up to three grants, maybe a home role.
fn arb_capped_tree() -> impl Strategy<Value = (Vec<Tenant>, Principal)> {
    (2usize..=7)
        .prop_flat_map(|n| {
            (
                proptest::collection::vec(any::<proptest::sample::Index>(), n - 1),
                proptest::collection::vec(1i64..=3, n),
                proptest::collection::vec(arb_permissions(), 3),
                1..=n as i64,
                proptest::collection::vec(
                    (
                        1..=n as i64,
                        prop_oneof![Just(Viewer), Just(Administrator), Just(Owner)],
                        prop_oneof![Just(Only), Just(Subtree)],
                    ),
                    0..4,
                ),
                proptest::option::of(arb_permissions()),
            )
        })
        .prop_map(|(parents, roles, caps, home, grants, role)| {
            let mut tenants: Vec<Tenant> = Vec::new();
            for (i, cap) in roles.iter().enumerate() {
                let id = i as i64 + 1;
                let path = match i {
                    0 => vec![id],
                    _ => {
                        let parent = &tenants[parents[i - 1].index(i)];
                        let mut path = parent.path.clone();
                        path.push(id);
                        path
                    }
                };
                let mut tenant = t(id);
                tenant.parent_id = (path.len() > 1).then(|| path[path.len() - 2]);
                tenant.path = path;
                tenant.tenant_role_id = *cap;
                tenants.push(tenant);
            }
            let grants: Vec<_> = grants
                .into_iter()
                .map(|(tenant, role, scope)| (tenant, role, scope, false))
                .collect();
            let mut p = who(1, ROOT, &grants);
            p.home = tenants[home as usize - 1].clone();
            p.user.tenant_id = home;
            p.caps = caps
                .into_iter()
                .enumerate()
                .map(|(i, permissions)| {
                    let id = i as i64 + 1;
                    let role = TenantRole {
                        id,
                        name: format!("cap {id}"),
                        permissions,
                    };
                    (id, role)
                })
                .collect();
            let p = match role {
                Some(r) => with_role(p, r),
                None => p,
            };
            (tenants, p)
        })
}

proptest! {
    /// A view spanning the subtree of any tenant whose feature the reader may read
    /// lists exactly the tenants below it whose own page for the feature they could
    /// open: seen (else 404) and the single-tenant decision at least Read (else 403).
    #[test]
    fn a_subtree_view_lists_exactly_the_tenants_whose_own_page_opens(
        (tenants, p) in arb_capped_tree(),
        feature in proptest::sample::select(Feature::ALL.to_vec()),
    ) {
        for root in &tenants {
            if !can_see(&p, root) || effective_level(&p, root, feature) < Level::Read {
                continue;
            }
            let reading = subtree_reading(&p, root, feature);
            for tenant in tenants.iter().filter(|t| t.is_within(root.id)) {
                let opens = can_see(&p, tenant) && effective_level(&p, tenant, feature) >= Level::Read;
                prop_assert_eq!(
                    reading.includes(&tenant.path, tenant.tenant_role_id),
                    opens,
                    "tenant {} under {} ({:?})", tenant.id, root.id, &reading
                );
            }
        }
    }
}

#[test]
fn rules_are_read_with_rules_read_and_viewers_have_it() {
    for p in [partner_admin(), partner_viewer(), root_owner()] {
        assert!(can_read_rules(&p, &t(PARTNER)), "{:?}", p.grants);
    }
    assert!(!can_read_rules(&partner_admin(), &t(OTHER)));
    let no_rules = with_role(who(28, PARTNER, &[]), only(Feature::Users, Full));
    assert!(!can_read_rules(&no_rules, &t(PARTNER)));
    let rules_read = with_role(who(28, PARTNER, &[]), only(Feature::Rules, Read));
    assert!(can_read_rules(&rules_read, &t(PARTNER)));
}

#[test]
fn branding_is_changed_with_settings_full_only() {
    assert!(can_change_branding(&partner_admin(), &t(PARTNER)));
    assert!(can_change_branding(&root_owner(), &t(PARTNER)));
    assert!(!can_change_branding(&partner_viewer(), &t(PARTNER)));
    assert!(!can_change_branding(&partner_admin(), &t(OTHER)));
    let settings_read = with_role(who(28, PARTNER, &[]), only(Feature::Settings, Read));
    assert!(!can_change_branding(&settings_read, &t(PARTNER)));
    assert!(matches!(
        require_branding_change(&settings_read, &t(PARTNER)),
        Err(AppError::Forbidden)
    ));
    let settings_full = with_role(who(28, PARTNER, &[]), only(Feature::Settings, Full));
    assert!(can_change_branding(&settings_full, &t(PARTNER)));
    assert!(require_branding_change(&settings_full, &t(PARTNER)).is_ok());
    let users_full = with_role(who(28, PARTNER, &[]), only(Feature::Users, Full));
    assert!(!can_change_branding(&users_full, &t(PARTNER)));
}

proptest! {
    /// The grant picker offers (and the grant form takes) exactly the grant
    /// candidates of a tenant — homed in it, an ancestor or below it — whom the giver
    /// may find: a person whose home is seen, read for Users there (the home role or
    /// a grant on it, unless a subtree grant covers it) and not capped away from
    /// Users (the root never is). Checked against that plain model.
    #[test]
    fn a_grantee_is_offered_iff_a_candidate_the_giver_may_find(
        (tenants, p) in arb_capped_tree(),
    ) {
        for on in &tenants {
            for home in &tenants {
                let candidate = on.path.contains(&home.id) || home.path.contains(&on.id);
                let seen = can_see(&p, home);
                let home_reads = home.id != p.home.id
                    || p.role.as_ref().is_some_and(|r| r.permissions.get(Feature::Users) >= Level::Read)
                    || p.grants.iter().any(|g| g.covers(home.id, &home.path));
                let uncapped = home.parent_id.is_none()
                    || p.caps[&home.tenant_role_id].permissions.get(Feature::Users) >= Level::Read;
                prop_assert_eq!(
                    may_pick_grantee(&p, on, home),
                    candidate && seen && home_reads && uncapped,
                    "home {} on {}", home.id, on.id
                );
            }
        }
    }
}

// ---------------------------------------------------------------- rule migrations

#[test]
fn the_migration_form_opens_for_owners_and_administrators_with_rules_full() {
    for p in [root_owner(), root_admin(), partner_owner(), partner_admin()] {
        assert!(can_migrate_rules_from(&p, &t(CHILD)), "{:?}", p.grants);
    }
    // A Viewer, a plain user whose home role holds everything, a tenant capped to read.
    assert!(!can_migrate_rules_from(&partner_viewer(), &t(PARTNER)));
    assert!(!can_migrate_rules_from(&partner_user_full(), &t(PARTNER)));
    assert!(!can_migrate_rules_from(&partner_owner(), &t(READ_ONLY)));
    assert!(!can_migrate_rules_from(&partner_owner(), &t(OTHER)));
}

#[test]
fn a_migration_is_seen_with_rules_read_over_both_tenants() {
    let (s, o) = (t(CHILD), t(OTHER));
    assert!(can_see_migration(&root_owner(), Some(&s), Some(&o)));
    // Only the source seen: hidden, but its progress may be followed.
    assert!(!can_see_migration(&partner_admin(), Some(&s), Some(&o)));
    assert!(can_follow_migration(&partner_admin(), Some(&s), Some(&o)));
    // Neither seen.
    let other_admin = who(30, OTHER, &[(OTHER, Administrator, Subtree, true)]);
    assert!(!can_see_migration(
        &other_admin,
        Some(&s),
        Some(&t(PARTNER))
    ));
    assert!(!can_follow_migration(
        &other_admin,
        Some(&s),
        Some(&t(PARTNER))
    ));
    // A deleted tenant: global administrators only.
    assert!(can_see_migration(&root_admin(), Some(&s), None));
    assert!(!can_see_migration(&partner_owner(), Some(&s), None));
    assert!(can_follow_migration(&partner_owner(), Some(&s), None));
}

proptest! {
    /// Against the plain model: seeing a migration is seeing and reading the rules
    /// of both tenants; following it, of one; the form, Administrator or more and
    /// Rules full; migrating, the form's right over both.
    #[test]
    fn migration_rights_follow_the_model(p in arb_principal(1)) {
        let reads = |t: &Tenant| can_see(&p, t) && model_level(&p, t, Feature::Rules) >= Level::Read;
        for a in TREE {
            let (ta, admin_a) = (t(a), grant_role(&p, &t(a)).is_some_and(|r| r >= Administrator));
            prop_assert_eq!(
                can_migrate_rules_from(&p, &ta),
                admin_a && model_level(&p, &ta, Feature::Rules) == Full
            );
            // The source deleted: the target's readers.
            prop_assert_eq!(can_see_migration(&p, None, Some(&ta)), reads(&ta));
            for b in TREE {
                let tb = t(b);
                prop_assert_eq!(can_see_migration(&p, Some(&ta), Some(&tb)), reads(&ta) && reads(&tb));
                prop_assert_eq!(can_follow_migration(&p, Some(&ta), Some(&tb)), reads(&ta) || reads(&tb));
                prop_assert_eq!(
                    can_migrate_rules(&p, &ta, &tb),
                    can_migrate_rules_from(&p, &ta) && can_migrate_rules_from(&p, &tb)
                );
            }
        }
    }
}

// ---------------------------------------------------------------- policies (#15)

mod policies {
    use super::super::{
        default_policy, effective_policies, locked_against, may_override, may_override_among,
        may_use_policy, overruled_at, overruled_by, policy_access, require_own_policy,
        PolicyAccess, PolicyFacts, PolicyReason,
    };
    use crate::domain::policy::{Enforcement, PolicyKind};
    use proptest::prelude::*;

    fn facts(
        id: i64,
        owner: i64,
        kind: PolicyKind,
        inheritable: bool,
        locked: bool,
    ) -> PolicyFacts {
        PolicyFacts {
            id,
            tenant_id: owner,
            kind,
            inheritable,
            enforcement: if locked {
                Enforcement::Locked
            } else {
                Enforcement::Default
            },
            overrides_id: None,
        }
    }

    #[test]
    fn a_policy_is_seen_by_its_owner_and_if_inheritable_below_it_only() {
        let p = facts(1, 2, PolicyKind::DenyList, true, false);
        assert_eq!(policy_access(&[1, 2], &p), PolicyAccess::Own);
        assert_eq!(policy_access(&[1, 2, 3], &p), PolicyAccess::Inherited);
        assert_eq!(policy_access(&[1, 2, 3, 7], &p), PolicyAccess::Inherited);
        assert_eq!(
            policy_access(&[1, 4], &p),
            PolicyAccess::Hidden,
            "a sibling"
        );
        assert_eq!(policy_access(&[1], &p), PolicyAccess::Hidden, "above");
        assert_eq!(policy_access(&[], &p), PolicyAccess::Hidden);
        let private = facts(1, 2, PolicyKind::DenyList, false, false);
        assert_eq!(policy_access(&[1, 2, 3], &private), PolicyAccess::Hidden);
        assert!(require_own_policy(PolicyAccess::Own, "x").is_ok());
        assert!(matches!(
            require_own_policy(PolicyAccess::Hidden, "x"),
            Err(crate::error::AppError::NotFound)
        ));
        let e = require_own_policy(PolicyAccess::Inherited, "Acme").unwrap_err();
        assert!(
            e.to_string().contains("inherited from Acme")
                || format!("{e:?}").contains("inherited from Acme")
        );
    }

    #[test]
    fn only_an_inherited_default_policy_may_be_overridden() {
        let open = facts(1, 2, PolicyKind::AllowList, true, false);
        let locked = facts(2, 2, PolicyKind::AllowList, true, true);
        assert!(may_override(&[1, 2, 3], &open, "P").is_ok());
        assert!(may_override(&[1, 2, 3], &locked, "P").is_err());
        assert!(may_override(&[1, 2], &open, "P").is_err(), "its own");
        assert!(matches!(
            may_override(&[1, 4], &open, "P"),
            Err(crate::error::AppError::NotFound)
        ));
    }

    #[test]
    fn the_topmost_lock_binds_only_other_policies_of_its_kind_which_it_overrules() {
        let top = facts(5, 1, PolicyKind::DenyList, true, true);
        let mid = facts(3, 2, PolicyKind::DenyList, true, true);
        let own = facts(9, 3, PolicyKind::DenyList, false, false);
        let other_kind = facts(4, 3, PolicyKind::AllowList, false, false);
        let all = [top, mid, own, other_kind];
        assert_eq!(
            locked_against(&[1, 2, 3], &all, PolicyKind::DenyList),
            Some(top)
        );
        assert_eq!(
            locked_against(&[1], &all, PolicyKind::DenyList),
            None,
            "not against its owner"
        );
        assert_eq!(may_use_policy(&[1, 2, 3], &all, &own), Err(Some(top)));
        assert_eq!(may_use_policy(&[1, 2, 3], &all, &mid), Err(Some(top)));
        assert_eq!(may_use_policy(&[1, 2, 3], &all, &top), Ok(()));
        assert_eq!(may_use_policy(&[1, 2, 3], &all, &other_kind), Ok(()));
        assert_eq!(may_use_policy(&[1, 4], &all, &own), Err(None), "not seen");
        // Under the lock of its kind above its owner, a policy has no effect.
        assert_eq!(
            overruled_by(&[1, 2, 3], &all, &mid),
            Some(top),
            "a 2nd lock"
        );
        assert_eq!(overruled_by(&[1, 2, 3], &all, &own), Some(top));
        assert_eq!(overruled_by(&[1, 2, 3], &all, &top), None, "the lock");
        assert_eq!(overruled_by(&[1, 2, 3], &all, &other_kind), None);
        assert_eq!(overruled_by(&[1, 4], &all, &own), None, "not on the path");
    }

    #[test]
    fn a_lock_between_a_policys_owner_and_the_tenant_overrules_it_there() {
        // Tenant 1 owns an overridable policy; tenant 2 below locks the kind to its own.
        let open = facts(5, 1, PolicyKind::BlockingThreshold, true, false);
        let lock = facts(7, 2, PolicyKind::BlockingThreshold, true, true);
        let all = [open, lock];
        assert_eq!(
            overruled_by(&[1, 2, 3], &all, &open),
            None,
            "not at its owner"
        );
        assert_eq!(overruled_at(&[1, 2, 3], &all, &open), Some(lock), "at 3");
        assert_eq!(
            overruled_at(&[1, 2], &all, &open),
            None,
            "2's own lock binds below"
        );
        assert_eq!(
            overruled_at(&[1, 2, 3], &all, &lock),
            None,
            "the lock itself"
        );
        assert!(may_override(&[1, 2, 3], &open, "P").is_ok());
        assert!(
            may_override_among(&[1, 2, 3], &all, &open, "P", |_| ("T2".into(), "L".into()))
                .is_err(),
            "no override of a policy without effect here"
        );
        assert!(may_override_among(&[1, 2], &all, &open, "P", |_| (
            String::new(),
            String::new()
        ))
        .is_ok());
    }

    #[test]
    fn the_default_policy_is_what_applies_for_the_nearest_inherited_kind() {
        // Tenant 1 passes a deny list down; tenant 2 has an older one of its own.
        let inherited = facts(9, 1, PolicyKind::DenyList, true, false);
        let own = facts(4, 2, PolicyKind::DenyList, false, false);
        let other_kind = facts(3, 2, PolicyKind::AllowList, false, false);
        let all = [inherited, own, other_kind];
        assert_eq!(
            default_policy(&[1, 2], &all),
            Some(own),
            "the effective one"
        );
        assert_eq!(default_policy(&[1, 2], &[inherited]), Some(inherited));
        assert_eq!(default_policy(&[2], &all), None, "nothing inherited");
        // Locked above: the lock, whatever the tenant owns.
        let lock = facts(12, 1, PolicyKind::DenyList, true, true);
        assert_eq!(default_policy(&[1, 2], &[lock, own]), Some(lock));
    }

    #[test]
    fn the_default_kind_is_the_nearest_owners_oldest_whatever_the_order() {
        // Tenant 1 passes down a newer deny list and an older allow list: the
        // allow list's kind, in whichever order (by name) they come.
        let newer = facts(20, 1, PolicyKind::DenyList, true, false);
        let older = facts(7, 1, PolicyKind::AllowList, true, false);
        assert_eq!(default_policy(&[1, 2], &[newer, older]), Some(older));
        assert_eq!(default_policy(&[1, 2], &[older, newer]), Some(older));
    }

    /// A random tree (each tenant's parent is an earlier one) and random policies.
    fn arb_world() -> impl Strategy<Value = (Vec<usize>, Vec<PolicyFacts>)> {
        (2usize..12)
            .prop_flat_map(|n| {
                let parents = (1..n).map(|i| 0..i).collect::<Vec<_>>();
                let policies = prop::collection::vec(
                    (
                        0..n,
                        0usize..5,
                        any::<bool>(),
                        any::<bool>(),
                        prop::option::of(0usize..8),
                    ),
                    0..16,
                );
                (parents, policies)
            })
            .prop_map(|(parents, raw)| {
                let policies = raw
                    .into_iter()
                    .enumerate()
                    .map(
                        |(i, (owner, kind, inheritable, locked, over))| PolicyFacts {
                            id: i as i64 + 1,
                            tenant_id: owner as i64,
                            kind: PolicyKind::ALL[kind],
                            inheritable,
                            enforcement: if locked {
                                Enforcement::Locked
                            } else {
                                Enforcement::Default
                            },
                            overrides_id: over.map(|o| o as i64 + 1),
                        },
                    )
                    .collect();
                let mut all = vec![usize::MAX];
                all.extend(parents);
                (all, policies)
            })
    }

    fn path_of(parents: &[usize], mut t: usize) -> Vec<i64> {
        let mut path = vec![t as i64];
        while t != 0 {
            t = parents[t];
            path.push(t as i64);
        }
        path.reverse();
        path
    }

    /// The plain model: among the policies of the kind that the tenant sees (its
    /// own; inheritable ones of its ancestors), rank a lock from above first
    /// (topmost first), then its own (its override of the nearest inherited one
    /// first), then inherited ones (nearest first); lowest id breaks ties.
    fn model(path: &[i64], policies: &[PolicyFacts], kind: PolicyKind) -> Option<(i64, u8)> {
        let me = *path.last()?;
        let depth = |t: i64| path.iter().position(|x| *x == t);
        let nearest = policies
            .iter()
            .filter(|p| p.kind == kind && p.inheritable && p.tenant_id != me)
            .filter_map(|p| Some(((-(depth(p.tenant_id)? as i64)), p.id)))
            .min()
            .map(|(_, id)| id);
        policies
            .iter()
            .filter(|p| p.kind == kind)
            .filter_map(|p| {
                let d = depth(p.tenant_id)? as i64;
                if p.tenant_id == me {
                    let other = i64::from(nearest.is_none() || p.overrides_id != nearest);
                    Some(((1, other, p.id), p.id, 1))
                } else if !p.inheritable {
                    None
                } else if p.enforcement == Enforcement::Locked {
                    Some(((0, d, p.id), p.id, 0))
                } else {
                    Some(((2, -d, p.id), p.id, 2))
                }
            })
            .min_by_key(|(rank, _, _)| *rank)
            .map(|(_, id, class)| (id, class))
    }

    proptest! {
        #[test]
        fn effective_policies_follow_the_model((parents, policies) in arb_world()) {
            for t in 0..parents.len() {
                let path = path_of(&parents, t);
                let got = effective_policies(&path, &policies);
                for kind in PolicyKind::ALL {
                    let mine = got.iter().find(|e| e.kind == *kind).map(|e| {
                        let class = match e.reason {
                            PolicyReason::Locked => 0,
                            PolicyReason::Own | PolicyReason::Override { .. } => 1,
                            PolicyReason::Inherited => 2,
                        };
                        (e.policy.id, class)
                    });
                    prop_assert_eq!(mine, model(&path, &policies, *kind), "tenant {} kind {}", t, kind);
                }
                for p in &policies {
                    let seen = p.tenant_id == t as i64
                        || (p.inheritable && path[..path.len() - 1].contains(&p.tenant_id));
                    prop_assert_eq!(policy_access(&path, p) != PolicyAccess::Hidden, seen);
                    let lock = model(&path, &policies, p.kind).filter(|(_, class)| *class == 0);
                    let allowed = seen && lock.is_none_or(|(id, _)| id == p.id);
                    prop_assert_eq!(may_use_policy(&path, &policies, p).is_ok(), allowed);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- policy choice

#[test]
fn a_policy_is_chosen_with_policies_read_and_the_refusal_says_why_not() {
    let mut owner = partner_owner();
    assert!(may_choose_policy(&owner, &t(CHILD)));
    assert_eq!(policy_choice_refusal(&owner, &t(CHILD)), None);
    assert!(require_policy_choice(&owner, &t(CHILD)).is_ok());
    // The child's tenant role takes Policies away: even its Owner picks none.
    let capped = full_but(&[(Feature::Policies, Level::None)]);
    if let Some(role) = owner.caps.get_mut(&1) {
        role.permissions = capped;
    }
    assert!(!may_choose_policy(&owner, &t(CHILD)));
    assert_eq!(
        policy_choice_refusal(&owner, &t(CHILD)).as_deref(),
        Some("The tenant role cap 1 of t3 gives no access to policies")
    );
    let refused = require_policy_choice(&owner, &t(CHILD)).unwrap_err();
    assert_eq!(refused.problem_kind(), ProblemKind::Forbidden);
    // A home role without Policies: the user's own access says no.
    let user = with_role(
        who(8, CHILD, &[]),
        full_but(&[(Feature::Policies, Level::None)]),
    );
    assert_eq!(
        policy_choice_refusal(&user, &t(CHILD)).as_deref(),
        Some("Your access to t3 does not include its policies")
    );
    // Read is enough: a Viewer chooses nothing (Resources read), but the rule is
    // about Policies alone.
    assert!(may_choose_policy(&partner_viewer(), &t(CHILD)));
}

proptest! {
    /// Against the plain model, under any cap on the partner's read-only child:
    /// choosing a resolver's or subnet's policy takes Policies at least Read there,
    /// and a refusal is given exactly when it may not.
    #[test]
    fn choosing_a_policy_follows_the_model(
        p in arb_principal(1),
        cap in arb_permissions(),
    ) {
        let mut p = p;
        if let Some(role) = p.caps.get_mut(&3) {
            role.permissions = cap;
        }
        for id in TREE {
            let tenant = t(id);
            let model = model_level_under(&p, &tenant, Feature::Policies, &p.caps) >= Read;
            prop_assert_eq!(may_choose_policy(&p, &tenant), model, "tenant {}", id);
            prop_assert_eq!(policy_choice_refusal(&p, &tenant).is_none(), model);
            prop_assert_eq!(require_policy_choice(&p, &tenant).is_ok(), model);
        }
    }
}
