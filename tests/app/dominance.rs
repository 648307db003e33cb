//! The dominance rule (who may act on whom), proven against a plain reference model:
//! a property test over random worlds on `authz::outranked`, and an HTTP matrix of
//! user-on-user actions over actor × target kinds, with expectations from the same
//! model. Plus regression tests of issue #9's findings on rights.

use crate::helpers::*;
use proptest::prelude::*;
use tenantry::auth::authz::{self, Subject};
use tenantry::auth::Principal;
use tenantry::db::models::role::{TenantRole, UserRole};
use tenantry::db::models::{Grant, Tenant, User};
use tenantry::domain::{Feature, GrantRole, Level, Permissions, Scope};

// ---------------------------------------------------------------- the reference model

const FEATURES: usize = 10;

#[derive(Clone, Debug)]
struct MTenant {
    parent: Option<usize>,
    /// The cap; ignored for the root (index 0), which is never capped.
    cap: Vec<Level>,
}

#[derive(Clone, Debug)]
struct MGrant {
    tenant: usize,
    role: GrantRole,
    scope: Scope,
    manage: bool,
}

#[derive(Clone, Debug)]
struct MUser {
    home: usize,
    role: Option<Vec<Level>>,
    grants: Vec<MGrant>,
}

#[derive(Clone, Debug)]
struct Model {
    tenants: Vec<MTenant>,
    users: Vec<MUser>,
}

/// What a grant role gives on every feature, written out again.
fn grant_level(role: GrantRole) -> Level {
    match role {
        GrantRole::Viewer => Level::Read,
        GrantRole::Administrator | GrantRole::Owner => Level::Full,
    }
}

impl Model {
    /// Walks up the parent links: no paths, no indexes.
    fn is_at_or_below(&self, t: usize, ancestor: usize) -> bool {
        let mut cur = Some(t);
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            cur = self.tenants[c].parent;
        }
        false
    }

    fn covers(&self, g: &MGrant, t: usize) -> bool {
        g.tenant == t || (g.scope == Scope::Subtree && self.is_at_or_below(t, g.tenant))
    }

    fn sees(&self, u: usize, t: usize) -> bool {
        self.users[u].home == t || self.users[u].grants.iter().any(|g| self.covers(g, t))
    }

    fn level(&self, u: usize, t: usize, f: usize) -> Level {
        let user = &self.users[u];
        let mut best = Level::None;
        if user.home == t {
            if let Some(role) = &user.role {
                best = best.max(role[f]);
            }
        }
        for g in &user.grants {
            if self.covers(g, t) {
                best = best.max(grant_level(g.role));
            }
        }
        let cap = if t == 0 {
            Level::Full
        } else {
            self.tenants[t].cap[f]
        };
        best.min(cap)
    }

    /// Could `a` hand out grant `g`: a grant of theirs reaching `g`'s tenant, of a
    /// role at least `g`'s and at least Administrator, as wide and managing as `g`.
    fn could_give(&self, a: usize, g: &MGrant) -> bool {
        self.users[a].grants.iter().any(|mine| {
            self.covers(mine, g.tenant)
                && mine.role >= g.role.max(GrantRole::Administrator)
                && (g.scope == Scope::Tenant || mine.scope == Scope::Subtree)
                && (!g.manage || mine.manage)
        })
    }

    /// The dominance rule, checked over every tenant of the world.
    fn dominates(&self, a: usize, b: usize) -> bool {
        if a == b {
            return true;
        }
        let grants_ok = self.users[b].grants.iter().all(|g| self.could_give(a, g));
        let rights_ok = (0..self.tenants.len())
            .filter(|t| self.sees(b, *t))
            .all(|t| (0..FEATURES).all(|f| self.level(a, t, f) >= self.level(b, t, f)));
        grants_ok && rights_ok
    }

    /// The answer of a user-on-user action through the Users pages of the target's home.
    fn action(&self, a: usize, b: usize) -> Outcome {
        let home = self.users[b].home;
        let users = Feature::ALL
            .iter()
            .position(|f| *f == Feature::Users)
            .unwrap();
        if !self.sees(a, home) {
            Outcome::NotFound
        } else if self.level(a, home, users) < Level::Full || !self.dominates(a, b) {
            Outcome::Forbidden
        } else {
            Outcome::Allowed
        }
    }
}

// ---------------------------------------------------------------- the model as the app's types

fn perms(levels: &[Level]) -> Permissions {
    let mut p = Permissions::none();
    for (f, l) in Feature::ALL.iter().zip(levels) {
        p.set(*f, *l);
    }
    p
}

fn tenant_id(t: usize) -> i64 {
    t as i64 + 1
}

fn lib_tenants(m: &Model) -> Vec<Tenant> {
    (0..m.tenants.len())
        .map(|t| {
            let mut path = vec![tenant_id(t)];
            let mut cur = m.tenants[t].parent;
            while let Some(p) = cur {
                path.insert(0, tenant_id(p));
                cur = m.tenants[p].parent;
            }
            Tenant {
                id: tenant_id(t),
                parent_id: m.tenants[t].parent.map(tenant_id),
                path,
                name: format!("t{t}"),
                description: String::new(),
                subdomain: format!("t{t}"),
                custom_domain: None,
                enabled: true,
                can_have_subtenants: true,
                tenant_role_id: 100 + tenant_id(t),
                user_count: 0,
                instance_count: 0,
                created_at: chrono::Utc::now(),
                updated_at: chrono::Utc::now(),
                domain_claim: Default::default(),
                monthly_query_quota: None,
                limits: Default::default(),
                plan_id: None,
            }
        })
        .collect()
}

fn subject(m: &Model, tenants: &[Tenant], u: usize) -> Subject {
    let mu = &m.users[u];
    let user = User {
        id: 1000 + u as i64,
        tenant_id: tenant_id(mu.home),
        username: format!("u{u}"),
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        password_hash: String::new(),
        enabled: true,
        source: tenantry::domain::UserSource::Local,
        session_epoch: 0,
        last_login_at: None,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
        role_id: mu.role.as_ref().map(|_| 500 + u as i64),
        storage_limit_gb: None,
        memory_limit_gb: None,
    };
    let role = mu.role.as_ref().map(|levels| UserRole {
        id: 500 + u as i64,
        tenant_id: tenant_id(mu.home),
        name: format!("role of u{u}"),
        permissions: perms(levels),
        multi_tenant: false,
        template_id: None,
        customised: false,
    });
    let grants = mu
        .grants
        .iter()
        .enumerate()
        .map(|(i, g)| Grant {
            id: i as i64 + 1,
            tenant_id: tenant_id(g.tenant),
            role: g.role,
            scope: g.scope,
            manage_subtenants: g.manage,
        })
        .collect();
    let caps = m
        .tenants
        .iter()
        .enumerate()
        .map(|(t, mt)| {
            let id = 100 + tenant_id(t);
            (
                id,
                TenantRole {
                    id,
                    name: format!("cap of t{t}"),
                    permissions: perms(&mt.cap),
                },
            )
        })
        .collect();
    let principal = Principal {
        user,
        home: tenants[mu.home].clone(),
        role,
        grants,
        caps,
    };
    let grant_tenants = mu
        .grants
        .iter()
        .map(|g| (tenant_id(g.tenant), tenants[g.tenant].clone()))
        .collect();
    Subject {
        principal,
        grant_tenants,
    }
}

// ---------------------------------------------------------------- random worlds

fn level() -> impl Strategy<Value = Level> {
    prop_oneof![3 => Just(Level::Full), 1 => Just(Level::Read), 1 => Just(Level::None)]
}

/// Uniform levels are common in real roles, and make ties (and so dominance) likely.
fn levels() -> impl Strategy<Value = Vec<Level>> {
    prop_oneof![
        2 => level().prop_map(|l| vec![l; FEATURES]),
        1 => prop::collection::vec(level(), FEATURES),
    ]
}

fn grant_role() -> impl Strategy<Value = GrantRole> {
    prop_oneof![
        Just(GrantRole::Owner),
        Just(GrantRole::Administrator),
        Just(GrantRole::Viewer)
    ]
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![Just(Scope::Subtree), Just(Scope::Tenant)]
}

fn model() -> impl Strategy<Value = Model> {
    let tenants = prop::collection::vec((any::<prop::sample::Index>(), levels()), 1..6);
    let grant = (
        any::<prop::sample::Index>(),
        grant_role(),
        scope(),
        any::<bool>(),
    );
    let user = (
        any::<prop::sample::Index>(),
        prop::option::of(levels()),
        prop::collection::vec(grant, 0..3),
    );
    (tenants, prop::collection::vec(user, 2..6)).prop_map(|(ts, us)| {
        let mut tenants = vec![MTenant {
            parent: None,
            cap: vec![Level::Full; FEATURES],
        }];
        for (i, (parent, cap)) in ts.into_iter().enumerate() {
            tenants.push(MTenant {
                parent: Some(parent.index(i + 1)),
                cap,
            });
        }
        let n = tenants.len();
        let users = us
            .into_iter()
            .map(|(home, role, gs)| {
                let mut grants: Vec<MGrant> = Vec::new();
                for (t, role, scope, manage) in gs {
                    let tenant = t.index(n);
                    // One grant per user and tenant, as the database keeps it.
                    if grants.iter().all(|g| g.tenant != tenant) {
                        grants.push(MGrant {
                            tenant,
                            role,
                            scope,
                            manage,
                        });
                    }
                }
                MUser {
                    home: home.index(n),
                    role,
                    grants,
                }
            })
            .collect();
        Model { tenants, users }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// `authz::outranked` answers exactly as the model for every pair of users.
    #[test]
    fn dominance_matches_the_reference_model(m in model()) {
        let tenants = lib_tenants(&m);
        let subjects: Vec<Subject> = (0..m.users.len()).map(|u| subject(&m, &tenants, u)).collect();
        for a in 0..m.users.len() {
            for b in 0..m.users.len() {
                let got = authz::outranked(&subjects[a].principal, &subjects[b]);
                prop_assert_eq!(
                    got.is_none(),
                    m.dominates(a, b),
                    "actor u{} on target u{}: implementation says {:?}",
                    a, b, got
                );
            }
        }
    }
}

/// The findings of #9 as plain cases: the old rule (rights in the home tenant only)
/// let each of these through.
#[test]
fn findings_are_refused_by_the_rule() {
    let full = vec![Level::Full; FEATURES];
    // root(0) ─ t1(1) ─ t2(2)
    let tenants = vec![
        MTenant {
            parent: None,
            cap: full.clone(),
        },
        MTenant {
            parent: Some(0),
            cap: full.clone(),
        },
        MTenant {
            parent: Some(1),
            cap: full.clone(),
        },
    ];
    let owner = |t, scope| MGrant {
        tenant: t,
        role: GrantRole::Owner,
        scope,
        manage: true,
    };
    let users = vec![
        // 0: the installation's Owner
        MUser {
            home: 0,
            role: None,
            grants: vec![owner(0, Scope::Subtree)],
        },
        // 1: a root user with a full home role and no grant
        MUser {
            home: 0,
            role: Some(full.clone()),
            grants: vec![],
        },
        // 2: a root Administrator
        MUser {
            home: 0,
            role: None,
            grants: vec![MGrant {
                tenant: 0,
                role: GrantRole::Administrator,
                scope: Scope::Subtree,
                manage: true,
            }],
        },
        // 3: the Owner of t1's subtree, at home in t1
        MUser {
            home: 1,
            role: None,
            grants: vec![owner(1, Scope::Subtree)],
        },
        // 4: a t1 user with a full home role
        MUser {
            home: 1,
            role: Some(full),
            grants: vec![],
        },
    ];
    let m = Model { tenants, users };
    let lib = lib_tenants(&m);
    let s: Vec<Subject> = (0..5).map(|u| subject(&m, &lib, u)).collect();
    for (actor, target) in [(1, 0), (2, 0), (4, 3)] {
        assert!(!m.dominates(actor, target));
        let refusal = authz::outranked(&s[actor].principal, &s[target]);
        assert!(
            matches!(refusal, Some(authz::Outranked::Grant { .. })),
            "u{actor} on u{target}: {refusal:?}"
        );
    }
    // Owners over the same reach act on each other; the Owner acts on everyone.
    assert!(authz::outranked(&s[0].principal, &s[3]).is_none());
    assert!(authz::outranked(&s[0].principal, &s[2]).is_none());
    assert!(authz::outranked(&s[3].principal, &s[4]).is_none());
}

// ---------------------------------------------------------------- the HTTP matrix
//
// root ─┬─ p1 ─── c1   (c1 capped: Roles read)
//       └─ p2
//
// Each kind below is an actor; every actor acts on its own copy of every kind.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    NotFound,
    Forbidden,
    Allowed,
}

const ROOT: usize = 0;
const P1: usize = 1;
const C1: usize = 2;
const P2: usize = 3;

/// (name, home, home role, grants as (tenant, role, scope, manage)).
type Kind = (
    &'static str,
    usize,
    Option<&'static str>,
    &'static [(usize, GrantRole, Scope, bool)],
);

const KINDS: &[Kind] = {
    use GrantRole::*;
    use Scope::*;
    &[
        ("rowner", ROOT, None, &[(ROOT, Owner, Subtree, true)]),
        (
            "radmin",
            ROOT,
            None,
            &[(ROOT, Administrator, Subtree, true)],
        ),
        ("rhr", ROOT, Some("full"), &[]),
        (
            "rp1admin",
            ROOT,
            None,
            &[(P1, Administrator, Subtree, true)],
        ),
        ("p1owner", P1, None, &[(P1, Owner, Subtree, true)]),
        ("p1towner", P1, None, &[(P1, Owner, Tenant, false)]),
        ("p1admin", P1, None, &[(P1, Administrator, Subtree, true)]),
        ("p1viewer", P1, None, &[(P1, Viewer, Subtree, false)]),
        ("p1hr", P1, Some("full"), &[]),
        ("p1usr", P1, Some("users"), &[]),
        ("p1plain", P1, None, &[]),
        ("c1admin", C1, None, &[(C1, Administrator, Tenant, false)]),
        ("c1hr", C1, Some("full"), &[]),
        ("p2owner", P2, None, &[(P2, Owner, Subtree, true)]),
        ("p2hr", P2, Some("full"), &[]),
    ]
};

fn role_levels(name: &str) -> Vec<Level> {
    match name {
        "full" => vec![Level::Full; FEATURES],
        // Users full, nothing else.
        _ => Feature::ALL
            .iter()
            .map(|f| match f {
                Feature::Users => Level::Full,
                _ => Level::None,
            })
            .collect(),
    }
}

fn c1_cap() -> Vec<Level> {
    Feature::ALL
        .iter()
        .map(|f| match f {
            Feature::Roles => Level::Read,
            _ => Level::Full,
        })
        .collect()
}

fn kind_user(kind: &Kind) -> MUser {
    MUser {
        home: kind.1,
        role: kind.2.map(role_levels),
        grants: kind
            .3
            .iter()
            .map(|(t, role, scope, manage)| MGrant {
                tenant: *t,
                role: *role,
                scope: *scope,
                manage: *manage,
            })
            .collect(),
    }
}

/// A request of the matrix: URL, form body, and the status when allowed.
type Step<'a> = (String, Vec<(&'a str, &'a str)>, u16);

#[tokio::test]
async fn user_actions_for_every_actor_and_target_kind() {
    let app = spawn_app().await;
    let p1 = app.tenant(&app.root, "p1", true).await;
    let c1 = app.tenant(&p1, "c1", true).await;
    let p2 = app.tenant(&app.root, "p2", true).await;
    let tenants = [app.root.clone(), p1, c1, p2];
    {
        let mut conn = app.conn().await;
        let cap = TenantRole::insert(&mut conn, "Roles read", &perms(&c1_cap()))
            .await
            .unwrap();
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(format!(
                "UPDATE tenants SET tenant_role_id = {} WHERE id = {}",
                cap.id, tenants[C1].id
            )),
            &mut conn,
        )
        .await
        .unwrap();
    }
    // The model: the kinds as actors (0..k), then each actor's copies of every kind.
    let k = KINDS.len();
    let mut model = Model {
        tenants: vec![
            MTenant {
                parent: None,
                cap: vec![Level::Full; FEATURES],
            },
            MTenant {
                parent: Some(ROOT),
                cap: vec![Level::Full; FEATURES],
            },
            MTenant {
                parent: Some(P1),
                cap: c1_cap(),
            },
            MTenant {
                parent: Some(ROOT),
                cap: vec![Level::Full; FEATURES],
            },
        ],
        users: Vec::new(),
    };
    let mut ids = Vec::new();
    let make = async |name: String, kind: &Kind| -> i64 {
        let tenant = &tenants[kind.1];
        let user = match kind.2 {
            Some(role) => {
                app.user_with_role(tenant, &name, perms(&role_levels(role)))
                    .await
            }
            None => app.user(tenant, &name).await,
        };
        for (t, role, scope, manage) in kind.3 {
            app.grant(&user, &tenants[*t], *role, *scope, *manage).await;
        }
        user.id
    };
    for kind in KINDS {
        ids.push(make(kind.0.to_string(), kind).await);
        model.users.push(kind_user(kind));
    }
    for actor in KINDS {
        for kind in KINDS {
            ids.push(make(format!("{}-of-{}", kind.0, actor.0), kind).await);
            model.users.push(kind_user(kind));
        }
    }
    let model = &model;
    let ids = &ids;
    let tenants = &tenants;
    let app = &app;

    // Each actor in its own browser, all at once.
    let runs = (0..k).map(|a| async move {
        let actor = &KINDS[a];
        let browser = browser_as(
            app,
            &tenantry::domain::login_name(&tenants[actor.1].subdomain, actor.0),
        )
        .await;
        let mut failures = Vec::new();
        let mut checked = 0;
        for t in 0..k {
            let b = k + a * k + t;
            let want = model.action(a, b);
            let base = format!("/tenants/{}/users/{}", tenants[KINDS[t].1].id, ids[b]);
            // Bodies that fail validation after authorization; then the state changes.
            let steps: [Step; 6] = [
                (base.clone(), vec![("email", "not-an-email")], 422),
                (base.clone(), vec![("role_id", "999999999")], 422),
                (format!("{base}/password"), vec![("password", "short")], 422),
                (format!("{base}/disable"), vec![], 303),
                (format!("{base}/enable"), vec![], 303),
                (format!("{base}/delete"), vec![("confirm", "yes")], 303),
            ];
            for (url, body, allowed_status) in steps {
                let got = status(&browser.post_form(&url, &body).await);
                let expected = match want {
                    Outcome::NotFound => 404,
                    Outcome::Forbidden => 403,
                    Outcome::Allowed => allowed_status,
                };
                checked += 1;
                if got != expected {
                    failures.push(format!(
                        "{} on {}-of-{} POST {url}: expected {expected} ({want:?}), got {got}",
                        actor.0, KINDS[t].0, actor.0
                    ));
                }
            }
        }
        (failures, checked)
    });
    let results = futures_util::future::join_all(runs).await;
    let checked: usize = results.iter().map(|(_, c)| c).sum();
    let failures: Vec<String> = results.into_iter().flat_map(|(f, _)| f).collect();
    assert!(
        failures.is_empty(),
        "{} of {checked} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The matrix must exercise every outcome, or it proves little.
    let outcomes: Vec<Outcome> = (0..k)
        .flat_map(|a| (0..k).map(move |t| model.action(a, k + a * k + t)))
        .collect();
    for o in [Outcome::NotFound, Outcome::Forbidden, Outcome::Allowed] {
        assert!(outcomes.contains(&o), "no case answers {o:?}");
    }
}

// ---------------------------------------------------------------- regressions (#9)

/// Finding 1: a root user with a full home role and no grant, and a root
/// Administrator, can no longer reset the password of (or otherwise change) a root Owner.
#[tokio::test]
async fn root_owner_cannot_be_taken_over_through_the_users_pages() {
    let app = spawn_app().await;
    let root = app.root.clone();
    let hr = app
        .user_with_role(&root, "hr", Permissions::all(Level::Full))
        .await;
    let _ = hr;
    let radmin = app.user(&root, "radmin").await;
    app.grant(
        &radmin,
        &root,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let owner_path = format!("/tenants/{}/users/{}", root.id, app.admin.id);
    for login in ["hr", "radmin"] {
        let b = browser_as(&app, login).await;
        let r = b
            .post_form(
                &format!("{owner_path}/password"),
                &[("password", "taken-over-password")],
            )
            .await;
        assert_eq!(status(&r), 403, "{login} resets the Owner's password");
        for action in ["disable", "delete"] {
            let r = b.post_form(&format!("{owner_path}/{action}"), &[]).await;
            assert_eq!(status(&r), 403, "{login} {action}s the Owner");
        }
        let r = b
            .post_form(&owner_path, &[("email", "attacker@example.com")])
            .await;
        assert_eq!(status(&r), 403, "{login} edits the Owner's email");
        // The page says why, and offers no form.
        let html = b.get_html(&owner_path).await;
        assert!(html.contains("a grant you could not give"), "{html}");
        assert!(!html.contains(&format!("{owner_path}/password\"")));
    }
    // The Owner's password is unchanged: they still log in with it.
    let owner = app.new_browser();
    owner.login_admin().await;
}

/// Finding 1, in a sub-tenant: a tenant user with a full home role cannot take over
/// the Owner of the tenant's subtree, whose home is that tenant.
#[tokio::test]
async fn subtree_owner_cannot_be_taken_over_by_a_home_role() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let owner = app.user(&acme, "owner").await;
    app.grant(&owner, &acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    app.user_with_role(&acme, "hr", Permissions::all(Level::Full))
        .await;
    let hr = browser_as(&app, "acme\\hr").await;
    let r = hr
        .post_form(
            &format!("/tenants/{}/users/{}/password", acme.id, owner.id),
            &[("password", "taken-over-password")],
        )
        .await;
    assert_eq!(status(&r), 403);
    // The Owner still logs in with their own password.
    browser_as(&app, "acme\\owner").await;
    // A plain user without grants stays manageable by the home-role administrator.
    let plain = app.user(&acme, "plain").await;
    let r = hr
        .post_form(
            &format!("/tenants/{}/users/{}/password", acme.id, plain.id),
            &[("password", "a-new-password-1")],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}/users/{}", acme.id, plain.id));
}

/// Finding 6: the Users page does not set one's own password (the profile asks for
/// the current one).
#[tokio::test]
async fn own_password_is_not_reset_through_the_users_page() {
    let app = spawn_app().await;
    let admin = app.new_browser();
    admin.login_admin().await;
    let path = format!("/tenants/{}/users/{}", app.root.id, app.admin.id);
    let html = admin.get_html(&path).await;
    assert!(html.contains("id=\"own-password\""), "{html}");
    assert!(!html.contains(&format!("{path}/password\"")));
    let r = admin
        .post_form(
            &format!("{path}/password"),
            &[("password", "a-brand-new-password")],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains("profile page"));
    // The old password still works.
    app.new_browser().login_admin().await;
}

/// Finding 2: the root is never capped. A root Administrator cannot lower the root's
/// cap (it has none), nor lower a cap in use; the Owners keep their rights.
#[tokio::test]
async fn the_root_cannot_be_capped_and_caps_in_use_are_lowered_by_owners_only() {
    let app = spawn_app().await;
    let root = app.root.clone();
    let radmin = app
        .user_with_role(&root, "radmin", Permissions::all(Level::Full))
        .await;
    app.grant(
        &radmin,
        &root,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let acme = app.tenant(&root, "acme", true).await;
    let (nothing, acme_cap) = {
        let mut conn = app.conn().await;
        let nothing = TenantRole::insert(&mut conn, "Nothing", &Permissions::none())
            .await
            .unwrap();
        let cap = TenantRole::find(&mut conn, acme.tenant_role_id)
            .await
            .unwrap();
        (nothing, cap)
    };
    let admin_browser = browser_as(&app, "radmin").await;
    // The root's form offers no tenant role; a forged one is a field error.
    let edit = format!("/tenants/{}/edit", root.id);
    let html = admin_browser.get_html(&edit).await;
    assert!(!html.contains("name=\"tenant_role_id\""), "{html}");
    let r = admin_browser
        .post_form(
            &edit,
            &[
                ("name", &root.name),
                ("subdomain", &root.subdomain),
                ("tenant_role_id", &nothing.id.to_string()),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains(authz::ROOT_NOT_CAPPED));
    // Even if the root's row named a cap of nothing, the root stays uncapped.
    {
        let mut conn = app.conn().await;
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(format!(
                "UPDATE tenants SET tenant_role_id = {} WHERE id = {}",
                nothing.id, root.id
            )),
            &mut conn,
        )
        .await
        .unwrap();
    }
    let owner = app.new_browser();
    owner.login_admin().await;
    assert_eq!(status(&owner.get("/tenants").await), 200);
    assert_eq!(status(&owner.get("/tenant-roles").await), 200);
    // An Administrator may not lower acme's cap, nor lower the role acme uses.
    let r = admin_browser
        .post_form(
            &format!("/tenants/{}/edit", acme.id),
            &[
                ("name", &acme.name),
                ("subdomain", &acme.subdomain),
                ("can_have_subtenants", "true"),
                ("tenant_role_id", &nothing.id.to_string()),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains("Only an Owner"));
    let mut fields: Vec<(String, String)> = vec![("name".into(), acme_cap.name.clone())];
    for f in Feature::ALL {
        fields.push((format!("perm_{}", f.as_str()), "none".into()));
    }
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let role_path = format!("/tenant-roles/{}", acme_cap.id);
    let r = admin_browser.post_form(&role_path, &refs).await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains("Only an Owner"));
    // The Owner may do both.
    let r = owner.post_form(&role_path, &refs).await;
    assert_eq!(status(&r), 303);
    // The API refuses the root's cap too.
    let token = crate::api::token_for(&app, &app.admin, false).await;
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/tenants/{}", root.id)))
        .bearer_auth(&token)
        .json(&serde_json::json!({"tenant_role_id": acme_cap.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains("never capped"));
}

/// Finding 9: the access explainer does not name tenants above the viewer's reach.
#[tokio::test]
async fn explainer_hides_tenants_above_the_viewers_reach() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let a1 = app.tenant(&acme, "a1", true).await;
    let viewer = app.user(&a1, "viewer").await;
    app.grant(
        &viewer,
        &a1,
        GrantRole::Administrator,
        Scope::Subtree,
        false,
    )
    .await;
    // A user of a1 who also holds a grant on acme (above the viewer's reach).
    let subject = app.user(&a1, "subject").await;
    app.grant(&subject, &acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let b = browser_as(&app, "a1\\viewer").await;
    let html = b
        .get_html(&format!("/tenants/{}/access?user={}", a1.id, subject.id))
        .await;
    assert!(html.contains("Viewer grant on"), "{html}");
    assert!(!html.contains(&acme.name), "{html}");
    assert!(
        html.contains(tenantry::web::access::HIDDEN_TENANT),
        "{html}"
    );
    // The root Owner sees the name.
    let owner = app.new_browser();
    owner.login_admin().await;
    let html = owner
        .get_html(&format!("/tenants/{}/access?user={}", a1.id, subject.id))
        .await;
    assert!(html.contains(&acme.name), "{html}");
}

// ---------------------------------------------------------------- the root keeps an Owner (review of #9)

/// Alice, a user of acme, becomes the only Owner of the root; the first administrator
/// loses his grant. Returns acme and alice.
async fn owner_at_home_in_acme(app: &TestApp) -> (Tenant, User) {
    let acme = app.tenant(&app.root, "acme", true).await;
    let alice = app.user(&acme, "alice").await;
    app.grant(&alice, &app.root, GrantRole::Owner, Scope::Subtree, true)
        .await;
    db(app)
        .await
        .execute("DELETE FROM grants WHERE user_id = $1", &[&app.admin.id])
        .await
        .unwrap();
    (acme, alice)
}

/// Disabling (button, form, API) or deleting (API, forced) the home tenant of the
/// last Owners of the root is refused: it would leave nobody who can manage the root.
#[tokio::test]
async fn the_home_of_the_last_root_owners_is_not_disabled_or_deleted() {
    let app = spawn_app().await;
    let (acme, alice) = owner_at_home_in_acme(&app).await;
    let radmin = app.user(&app.root, "radmin").await;
    app.grant(
        &radmin,
        &app.root,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let b = browser_as(&app, "radmin").await;
    let r = b
        .post_form(
            &format!("/tenants/{}/disable", acme.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("without an Owner who can log in"));
    let r = b
        .post_form(
            &format!("/tenants/{}/edit", acme.id),
            &[
                ("name", acme.name.as_str()),
                ("subdomain", "acme"),
                ("can_have_subtenants", "true"),
            ],
        )
        .await;
    assert_eq!(status(&r), 409);
    let radmin_token = crate::api::token_for(&app, &radmin, false).await;
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/tenants/{}", acme.id)))
        .bearer_auth(&radmin_token)
        .json(&serde_json::json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 409);
    let alice_token = crate::api::token_for(&app, &alice, false).await;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/tenants/{}?force=true", acme.id)))
        .bearer_auth(&alice_token)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 409);
    assert!(app.reload(&acme).await.is_some_and(|t| t.enabled));
    browser_as(&app, "acme\\alice").await;
    // With an Owner at home elsewhere, acme may go.
    app.grant(
        &app.admin,
        &app.root,
        GrantRole::Owner,
        Scope::Subtree,
        true,
    )
    .await;
    // The root Administrator does not dominate alice (an Owner of the root), so
    // may not lock her out; the root's Owner may.
    let r = b
        .post_form(
            &format!("/tenants/{}/disable", acme.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("would lock out acme\\alice"));
    let owner = app.new_browser();
    owner.login_admin().await;
    let r = owner
        .post_form(
            &format!("/tenants/{}/disable", acme.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 303);
}

/// Lowering a cap and a tenant taking it on, at once: a root Administrator may do
/// each only while the other has not happened, so never both. The role row is held
/// locked first so that both requests are in flight together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cap_is_not_lowered_while_a_tenant_takes_it_on() {
    let app = spawn_app().await;
    let radmin = app.user(&app.root, "radmin").await;
    app.grant(
        &radmin,
        &app.root,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let b = browser_as(&app, "radmin").await;
    let token = crate::api::token_for(&app, &radmin, false).await;
    let mut lowered: Vec<(String, String)> = vec![("name".into(), "FullN".into())];
    for f in Feature::ALL {
        let level = if f == Feature::Audit { "none" } else { "full" };
        lowered.push((format!("perm_{}", f.as_str()), level.into()));
    }
    for round in 0..4 {
        let tenant = app.tenant(&app.root, &format!("race{round}"), false).await;
        let role = {
            let mut conn = app.conn().await;
            TenantRole::insert(
                &mut conn,
                &format!("Full{round}"),
                &Permissions::all(Level::Full),
            )
            .await
            .unwrap()
        };
        let mut fields = lowered.clone();
        fields[0].1 = role.name.clone();
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let blocker = db(&app).await;
        let watcher = db(&app).await;
        let hold = round % 2 == 0;
        if hold {
            blocker.batch_execute("BEGIN").await.unwrap();
            blocker
                .execute(
                    "SELECT id FROM tenant_roles WHERE id = $1 FOR UPDATE",
                    &[&role.id],
                )
                .await
                .unwrap();
        }
        let finished = std::sync::atomic::AtomicUsize::new(0);
        let assign = async {
            let r = app
                .client
                .patch(app.url(&format!("/api/v1/tenants/{}", tenant.id)))
                .bearer_auth(&token)
                .json(&serde_json::json!({"tenant_role_id": role.id}))
                .send()
                .await
                .unwrap();
            finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            status(&r)
        };
        let edit = async {
            let r = b
                .post_form(&format!("/tenant-roles/{}", role.id), &refs)
                .await;
            finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            status(&r)
        };
        let release = async {
            if !hold {
                return;
            }
            // Both wait on the lock, or (without the locks under test) both are done.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            loop {
                let waiting: i64 = lock_waiters(&watcher).await;
                if waiting >= 2 || finished.load(std::sync::atomic::Ordering::SeqCst) == 2 {
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "never both in flight");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            blocker.batch_execute("COMMIT").await.unwrap();
        };
        let (assigned, edited, ()) = tokio::join!(assign, edit, release);
        assert!(
            !(assigned == 200 && edited == 303),
            "round {round}: both went through"
        );
        assert!(
            [200, 422].contains(&assigned) && [303, 422].contains(&edited),
            "round {round}: {assigned} {edited}"
        );
        // Whatever happened, the tenant is not capped below full.
        let row = db(&app)
            .await
            .query_one(
                "SELECT r.permissions->>'audit' FROM tenants t JOIN tenant_roles r ON r.id = t.tenant_role_id WHERE t.id = $1",
                &[&tenant.id],
            )
            .await
            .unwrap();
        let audit: String = row.get(0);
        assert_eq!(audit, "full", "round {round}");
    }
}
