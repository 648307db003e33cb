//! `can_migrate_rules` (issue #13 part B): Owner or Administrator over both
//! tenants, with Rules full in both — on the fixed tree of the parent module, and
//! as a property against a plain model.

use super::*;

#[test]
fn owners_and_administrators_over_both_may_migrate() {
    // The root's Owner and Administrator: anywhere Rules is not capped below Full.
    for p in [root_owner(), root_admin()] {
        assert!(can_migrate_rules(&p, &t(PARTNER), &t(CHILD)));
        assert!(can_migrate_rules(&p, &t(CHILD), &t(OTHER)));
        assert!(can_migrate_rules(&p, &t(ROOT), &t(NO_AUDIT)));
    }
    // The partner's Owner and Administrator (sub-tenant scope): within the partner.
    for p in [partner_owner(), partner_admin()] {
        assert!(can_migrate_rules(&p, &t(PARTNER), &t(CHILD)));
        assert!(can_migrate_rules(&p, &t(NO_AUDIT), &t(PARTNER)));
        assert!(!can_migrate_rules(&p, &t(PARTNER), &t(OTHER)));
        assert!(!can_migrate_rules(&p, &t(ROOT), &t(CHILD)));
    }
    // Two tenant-only Administrator grants side by side are enough.
    let two = who(
        30,
        CHILD,
        &[
            (CHILD, Administrator, Only, false),
            (OTHER, Administrator, Only, false),
        ],
    );
    assert!(can_migrate_rules(&two, &t(CHILD), &t(OTHER)));
    assert!(can_migrate_rules(&two, &t(OTHER), &t(CHILD)));
    assert!(!can_migrate_rules(&two, &t(CHILD), &t(PARTNER)));
}

#[test]
fn rights_over_one_side_only_are_not_enough() {
    // Administrator of the partner alone (no sub-tenant scope): not over the child.
    assert!(!can_migrate_rules(
        &partner_admin_here(),
        &t(PARTNER),
        &t(CHILD)
    ));
    assert!(!can_migrate_rules(
        &partner_admin_here(),
        &t(CHILD),
        &t(PARTNER)
    ));
}

#[test]
fn viewers_home_roles_and_caps_do_not_give_it() {
    // A Viewer grant reads the rules but may not replace them.
    assert!(!can_migrate_rules(
        &partner_viewer(),
        &t(PARTNER),
        &t(CHILD)
    ));
    // A home role with everything Full is no grant over another tenant, nor over
    // its own: a migration is a global administrator's act.
    assert!(!can_migrate_rules(
        &partner_user_full(),
        &t(PARTNER),
        &t(CHILD)
    ));
    let rules_full_at_home = with_role(
        who(31, PARTNER, &[(CHILD, Administrator, Only, false)]),
        Permissions::all(Full),
    );
    assert!(!can_migrate_rules(
        &rules_full_at_home,
        &t(PARTNER),
        &t(CHILD)
    ));
    // A tenant whose cap holds Rules at Read cannot be either side.
    for p in [root_owner(), partner_owner()] {
        assert!(!can_migrate_rules(&p, &t(READ_ONLY), &t(CHILD)));
        assert!(!can_migrate_rules(&p, &t(CHILD), &t(READ_ONLY)));
    }
}

/// The rule written out plainly: on each side, a grant (on it, or with sub-tenant
/// scope on an ancestor) of Administrator or Owner, and a cap that leaves Rules
/// Full (the root has none) — any such grant gives Full below the cap.
fn model_can_migrate(p: &Principal, source: &Tenant, target: &Tenant) -> bool {
    [source, target].into_iter().all(|tenant| {
        let admin = p
            .grants
            .iter()
            .any(|g| g.role != Viewer && model_reaches(g, tenant));
        let uncapped = tenant.id == ROOT
            || caps()[&tenant.tenant_role_id]
                .permissions
                .get(Feature::Rules)
                == Full;
        admin && uncapped
    })
}

proptest! {
    #[test]
    fn may_migrate_rules_follows_the_model(p in arb_principal(1)) {
        for s in TREE {
            for d in TREE {
                let (source, target) = (t(s), t(d));
                let may = can_migrate_rules(&p, &source, &target);
                prop_assert_eq!(may, model_can_migrate(&p, &source, &target), "{} -> {}", s, d);
                // Symmetric, and never over a tenant the user cannot see.
                prop_assert_eq!(may, can_migrate_rules(&p, &target, &source));
                prop_assert!(!may || (can_see(&p, &source) && can_see(&p, &target)));
            }
        }
    }
}

#[test]
fn a_rollback_needs_the_target_only_once_the_source_is_gone() {
    // While the source exists: what starting the migration takes.
    for p in [partner_owner(), partner_admin()] {
        assert!(can_roll_back_migration(&p, Some(&t(PARTNER)), &t(CHILD)));
        assert!(!can_roll_back_migration(&p, Some(&t(OTHER)), &t(CHILD)));
        // Deleted: the target's half is enough (nothing else could unlock it).
        assert!(can_roll_back_migration(&p, None, &t(CHILD)));
        assert!(!can_roll_back_migration(&p, None, &t(OTHER)));
    }
    assert!(can_roll_back_migration(&root_admin(), None, &t(OTHER)));
    assert!(!can_roll_back_migration(&partner_viewer(), None, &t(CHILD)));
}

#[test]
fn a_migration_whose_source_is_gone_is_seen_by_the_targets_rule_readers() {
    // Owners, Administrators and Viewers over the target (they read its rules)…
    for p in [
        root_admin(),
        partner_owner(),
        partner_admin(),
        partner_viewer(),
    ] {
        assert!(
            can_see_migration(&p, None, Some(&t(CHILD))),
            "{:?}",
            p.grants
        );
        assert!(can_follow_migration(&p, None, Some(&t(CHILD))));
    }
    // …but not who does not see the target.
    let other_admin = who(30, OTHER, &[(OTHER, Administrator, Subtree, true)]);
    assert!(!can_see_migration(&other_admin, None, Some(&t(CHILD))));
    assert!(!can_follow_migration(&other_admin, None, Some(&t(CHILD))));
    // A plain user at home reads no rules by a grant there: not seen either.
    assert!(!can_see_migration(
        &with_role(who(31, PARTNER, &[]), Permissions::all(Level::None)),
        None,
        Some(&t(PARTNER))
    ));
    // A deleted target still hides it from all but global administrators.
    assert!(!can_see_migration(&partner_owner(), Some(&t(CHILD)), None));
    assert!(!can_see_migration(&partner_owner(), None, None));
    assert!(can_see_migration(&root_admin(), None, None));
}

#[test]
fn a_deleted_source_is_named_to_global_administrators_and_the_starter_only() {
    assert_eq!(
        migration_source_name(&root_admin(), Some(99), "Acme"),
        "Acme"
    );
    let starter = partner_owner();
    assert_eq!(
        migration_source_name(&starter, Some(starter.user.id), "Acme"),
        "Acme"
    );
    assert_eq!(
        migration_source_name(&starter, Some(starter.user.id + 1), "Acme"),
        UNSEEN_TENANT
    );
    assert_eq!(
        migration_source_name(&partner_admin(), None, "Acme"),
        UNSEEN_TENANT
    );
}
