//! The cloud sharing rule (`cloud_access`, issue #14): on the fixed tree of the
//! parent module, and as a property against a plain model over random small trees.

use super::*;
use crate::domain::resources::CloudVisibility::{self, Assigned, Private, Public};

fn share(owner_id: i64, visibility: CloudVisibility, assigned_to_viewer: bool) -> CloudShare {
    CloudShare {
        owner_id,
        owner_shares: true,
        visibility,
        assigned_to_viewer,
    }
}

fn access(viewer: i64, sees_root_public: bool, cloud: CloudShare) -> CloudAccess {
    cloud_access(&t(viewer).path, sees_root_public, &cloud)
}

#[test]
fn a_tenant_owns_its_clouds_whatever_their_visibility() {
    for v in [Private, Public, Assigned] {
        assert_eq!(
            access(CHILD, false, share(CHILD, v, false)),
            CloudAccess::Own
        );
        assert_eq!(access(ROOT, false, share(ROOT, v, false)), CloudAccess::Own);
    }
}

#[test]
fn public_clouds_reach_every_tenant_below_and_no_one_else() {
    // The partner's public cloud: its children see it, read-only.
    assert_eq!(
        access(CHILD, true, share(PARTNER, Public, false)),
        CloudAccess::Shared
    );
    assert_eq!(
        access(NO_AUDIT, false, share(PARTNER, Public, false)),
        CloudAccess::Shared
    );
    // Not the partner's sibling, nor the root above it.
    assert_eq!(
        access(OTHER, true, share(PARTNER, Public, false)),
        CloudAccess::Hidden
    );
    assert_eq!(
        access(ROOT, true, share(PARTNER, Public, false)),
        CloudAccess::Hidden
    );
    // A child's cloud is never seen by its sibling or its cousin, whatever it says.
    for v in [Private, Public, Assigned] {
        assert_eq!(
            access(READ_ONLY, true, share(CHILD, v, true)),
            CloudAccess::Hidden
        );
        assert_eq!(
            access(OTHER, true, share(CHILD, v, true)),
            CloudAccess::Hidden
        );
        assert_eq!(
            access(PARTNER, true, share(CHILD, v, true)),
            CloudAccess::Hidden
        );
    }
    // Private stays home.
    assert_eq!(
        access(CHILD, true, share(PARTNER, Private, true)),
        CloudAccess::Hidden
    );
}

#[test]
fn the_roots_public_clouds_follow_the_tenant_role() {
    assert_eq!(
        access(CHILD, true, share(ROOT, Public, false)),
        CloudAccess::Shared
    );
    assert_eq!(
        access(CHILD, false, share(ROOT, Public, false)),
        CloudAccess::Hidden
    );
    assert_eq!(
        access(OTHER, false, share(ROOT, Public, false)),
        CloudAccess::Hidden
    );
    // Only the root's: a partner's public cloud does not ask the role.
    assert_eq!(
        access(CHILD, false, share(PARTNER, Public, false)),
        CloudAccess::Shared
    );
    // Assigned clouds of the root do not ask it either.
    assert_eq!(
        access(CHILD, false, share(ROOT, Assigned, true)),
        CloudAccess::Shared
    );
}

#[test]
fn assigned_clouds_reach_the_listed_tenants_below_only() {
    assert_eq!(
        access(CHILD, true, share(PARTNER, Assigned, true)),
        CloudAccess::Shared
    );
    assert_eq!(
        access(CHILD, true, share(PARTNER, Assigned, false)),
        CloudAccess::Hidden
    );
    // Listed but not below the owner (moved away since): not shared.
    assert_eq!(
        access(OTHER, true, share(PARTNER, Assigned, true)),
        CloudAccess::Hidden
    );
    assert_eq!(
        cloud_access(&[], true, &share(ROOT, Public, true)),
        CloudAccess::Hidden
    );
}

#[test]
fn an_owner_that_may_not_share_shares_nothing_but_keeps_its_own() {
    for v in [Public, Assigned] {
        let cloud = CloudShare {
            owner_shares: false,
            ..share(PARTNER, v, true)
        };
        assert_eq!(access(CHILD, true, cloud), CloudAccess::Hidden);
        assert_eq!(access(PARTNER, true, cloud), CloudAccess::Own);
    }
}

#[test]
fn only_the_root_and_tenants_with_sub_tenants_share() {
    assert!(may_share(&t(ROOT)));
    assert!(may_share(&t(PARTNER)));
    let mut leaf = t(CHILD);
    leaf.can_have_subtenants = false;
    assert!(!may_share(&leaf));
    let mut root = t(ROOT);
    root.can_have_subtenants = false;
    assert!(may_share(&root));
}

#[test]
fn changing_a_shared_cloud_is_refused_naming_its_owner() {
    assert!(require_own_cloud(CloudAccess::Own, "Acme").is_ok());
    let refused = require_own_cloud(CloudAccess::Shared, "Acme").unwrap_err();
    assert_eq!(refused.status(), actix_web::http::StatusCode::FORBIDDEN);
    assert!(refused.public_message().1.contains("shared by Acme"));
    assert!(matches!(
        require_own_cloud(CloudAccess::Hidden, "Acme"),
        Err(AppError::NotFound)
    ));
}

/// The plain model: a tree as parent links, clouds seen by walking up from the
/// viewer one parent at a time.
fn model_sees(
    parents: &[Option<usize>],
    sharers: &[bool],
    viewer: usize,
    sees_root_public: bool,
    owner: usize,
    visibility: CloudVisibility,
    assigned: &[usize],
) -> CloudAccess {
    if owner == viewer {
        return CloudAccess::Own;
    }
    let mut up = parents[viewer];
    while let Some(a) = up {
        if a == owner {
            let is_root = parents[a].is_none();
            let shared = (is_root || sharers[a])
                && match visibility {
                    Private => false,
                    Public => !is_root || sees_root_public,
                    Assigned => assigned.contains(&viewer),
                };
            return if shared {
                CloudAccess::Shared
            } else {
                CloudAccess::Hidden
            };
        }
        up = parents[a];
    }
    CloudAccess::Hidden
}

fn path_of(parents: &[Option<usize>], node: usize) -> Vec<i64> {
    let mut path = vec![node as i64 + 100];
    let mut up = parents[node];
    while let Some(a) = up {
        path.push(a as i64 + 100);
        up = parents[a];
    }
    path.reverse();
    path
}

proptest! {
    /// Over random trees of up to 12 tenants (node 0 the root, each other node's
    /// parent an earlier node), every viewer, owner, visibility and assignment:
    /// `cloud_access` on paths says what walking up the tree says.
    #[test]
    fn cloud_access_agrees_with_walking_up_the_tree(
        links in proptest::collection::vec(any::<prop::sample::Index>(), 1..12),
        owner in any::<prop::sample::Index>(),
        visibility in prop_oneof![Just(Private), Just(Public), Just(Assigned)],
        assigned in proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
        sees_root_public in any::<bool>(),
        sharers in proptest::collection::vec(any::<bool>(), 12),
    ) {
        let n = links.len() + 1;
        let mut parents: Vec<Option<usize>> = vec![None];
        for (i, l) in links.iter().enumerate() {
            parents.push(Some(l.index(i + 1)));
        }
        let owner = owner.index(n);
        let assigned: Vec<usize> = assigned.iter().map(|a| a.index(n)).collect();
        for viewer in 0..n {
            let cloud = CloudShare {
                owner_id: owner as i64 + 100,
                owner_shares: parents[owner].is_none() || sharers[owner],
                visibility,
                assigned_to_viewer: assigned.contains(&viewer),
            };
            prop_assert_eq!(
                cloud_access(&path_of(&parents, viewer), sees_root_public, &cloud),
                model_sees(&parents, &sharers, viewer, sees_root_public, owner, visibility, &assigned),
                "viewer {} parents {:?}", viewer, parents
            );
        }
    }
}
