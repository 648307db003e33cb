//! Review of #16 (plans and branding, h16c): a plan below what its tenants use is
//! saved with a warning, while own limits above it and options in use stay refused
//! as field errors; options a plan lacks shown disabled with the reason, and the
//! governing plan named on the tenant page; large logos answered with the logo's
//! limit; the branding page naming the default; support addresses refused per cause;
//! a plan's delete confirmed first; quota use marked on a plan's page; a reset of
//! nothing recording nothing.

use crate::api::{admin_api, plan, put, put_on, send, token_for, Api};
use crate::branding::{fields, multipart, png, reset, save, text_of, upload, BOUNDARY};
use crate::helpers::*;
use crate::move_limits::{cloud, vm};
use reqwest::Method;
use serde_json::{json, Value};
use tenantry::domain::{GrantRole, Scope};

/// M2: a plan's limits below what its tenants use are saved, as an own limit below
/// use is, and the save says so (the API's `warnings`, the pages' flash); growth is
/// refused. An own limit above the plan and an option in use stay refused — as a
/// field error (422), not 409.
#[tokio::test]
async fn a_plan_below_what_tenants_use_is_saved_with_a_warning() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let cloud = cloud(&app, &api).await;
    assert_eq!(vm(&api, &t.a1, cloud, "big", 400, 4).await.0, 201);
    let big = plan(
        &api,
        json!({"name": "Big", "storage_limit_gb": 1000, "sub_tenants": true}),
    )
    .await;
    put_on(&api, &t.acme, big).await;
    // Lowered below what acme's subtree (and a1's, inheriting it) uses: saved, warned.
    let (s, body) = put(
        &api,
        &format!("/api/v1/plans/{big}"),
        crate::api::whole_plan(
            json!({"name": "Big", "storage_limit_gb": 100, "sub_tenants": true}),
        ),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["storage_limit_gb"], 100);
    assert_eq!(
        body["warnings"],
        json!([
            "Tenant a1 (400 GB) and Tenant acme (400 GB) use more storage than plan Big's \
             100 GB: growth is refused until their use falls below it."
        ])
    );
    // Kept, not clamped: what is there stays, growth is refused.
    let (s, body) = vm(&api, &t.a2, cloud, "more", 1, 1).await;
    assert!((400..500).contains(&s), "{s} {body}");
    // A save that makes nothing stricter has nothing to say.
    let (s, body) = put(
        &api,
        &format!("/api/v1/plans/{big}"),
        crate::api::whole_plan(
            json!({"name": "Big 2", "storage_limit_gb": 100, "sub_tenants": true}),
        ),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["warnings"], json!([]));
    // A tenant switched to a smaller plan: saved, warned; the tenant's own limit
    // of a kind is its own (memory here), so the plan says only storage, and the
    // own memory limit set below use is said as such (#14 M3).
    let small = plan(
        &api,
        json!({"name": "Small", "storage_limit_gb": 50, "memory_limit_gb": 1, "sub_tenants": true}),
    )
    .await;
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"plan_id": small, "memory_limit_gb": 1}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["plan_id"], small);
    assert_eq!(
        body["warnings"],
        json!([
            "Tenant a1 uses 400 GB of storage, above plan Small's 50 GB: growth is refused \
             until use falls below it.",
            "Memory 4 GB in use is above the new limit of 1 GB: growth is refused until it \
             is below."
        ])
    );
    // A change that switches no plan warns of nothing.
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"description": "x"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["warnings"], json!([]));
    // What is refused: an own limit above the plan's (a1x's, inheriting the plan
    // switched), as `plan_id`'s error (422), nothing saved.
    let tiny = plan(&api, json!({"name": "Tiny", "storage_limit_gb": 10})).await;
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET storage_limit_gb = 20 WHERE id = $1",
            &[&t.a1x.id],
        )
        .await
        .unwrap();
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"plan_id": tiny}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["plan_id"],
        "Plan Tiny does not fit: Tenant a1x has its own storage limit above 10 GB."
    );
    // The pages: the plan's save and the tenant's switch say it in their flash.
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/plans/{small}"),
            &[
                ("name", "Small"),
                ("storage_limit_gb", "40"),
                ("memory_limit_gb", "1"),
                ("sub_tenants", "true"),
            ],
        )
        .await;
    let flash = flash_after(&app, r).await;
    assert!(
        flash.starts_with("Saved plan Small. Note: Tenant a1 uses 400 GB of storage")
            && flash.contains("40 GB: growth is refused until use falls below it."),
        "{flash}"
    );
    let big = big.to_string();
    let r = app
        .post_form(
            &format!("/tenants/{}/edit", t.a1.id),
            &tenant_edit_form(&t.a1, &[("plan_id", &big)]),
        )
        .await;
    let flash = flash_after(&app, r).await;
    assert!(
        flash.starts_with("Saved Tenant a1. Note: Tenant a1 uses 400 GB of storage")
            && flash.contains("100 GB: growth is refused"),
        "{flash}"
    );
}

/// M3: a tenant whose plan has no sub-tenants shows "New sub-tenant" disabled with
/// the reason (no link), the new-tenant form does not offer it as a parent, and the
/// tenant page names the governing plan to whoever may see it.
#[tokio::test]
async fn options_a_plan_lacks_show_disabled_and_the_tenant_page_names_the_plan() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let basic = plan(&api, json!({"name": "Basic"})).await;
    put_on(&api, &t.acme, basic).await;
    app.login_admin().await;
    let page = app.get_html(&format!("/tenants/{}", t.acme.id)).await;
    let button = between(&page, "id=\"new-sub-tenant\"", "</span>");
    assert!(
        button.contains("disabled") && button.contains("Not in plan Basic."),
        "{button}"
    );
    assert!(
        !page.contains(&format!("href=\"/tenants/new?parent_id={}\"", t.acme.id)),
        "{page}"
    );
    assert_eq!(text_of(&page, "tenant-plan"), "Basic");
    // a1 follows acme's plan; globex has none; its own page offers the button.
    let page = app.get_html(&format!("/tenants/{}", t.a1.id)).await;
    assert_eq!(text_of(&page, "tenant-plan"), "Basic (via Tenant acme)");
    let page = app.get_html(&format!("/tenants/{}", t.globex.id)).await;
    assert_eq!(text_of(&page, "tenant-plan"), "No plan");
    assert!(page.contains(&format!("href=\"/tenants/new?parent_id={}\"", t.globex.id)));
    // The new-tenant form: acme disabled with the reason, never preselected.
    let form = app
        .get_html(&format!("/tenants/new?parent_id={}", t.acme.id))
        .await;
    let option = between(
        &form,
        &format!("<option value=\"{}\" disabled>", t.acme.id),
        "</option>",
    );
    assert!(option.contains("Not in plan Basic."), "{option}");
    assert!(
        !form.contains(&format!("<option value=\"{}\" selected", t.acme.id)),
        "{form}"
    );
    assert_eq!(
        text_of(&form, "parent_id-refusal"),
        "Tenant acme may not have sub-tenants: Not in plan Basic."
    );
    // Someone who sees a1 but not acme: the plan, "via a tenant above"; acme's
    // Owner, acting in acme: the dashboard's and Tenants list's buttons disabled.
    let a1_admin = subtree_admin(&app, &t.a1, "a1admin").await;
    let page = a1_admin.get_html(&format!("/tenants/{}", t.a1x.id)).await;
    assert_eq!(text_of(&page, "tenant-plan"), "Basic (via a tenant above)");
    let page = a1_admin.get_html(&format!("/tenants/{}", t.a1.id)).await;
    assert_eq!(text_of(&page, "tenant-plan"), "Basic (via a tenant above)");
    assert!(!page.contains("href=\"/plans/"), "{page}");
    let owner = app.user(&t.acme, "acmeowner").await;
    app.grant(&owner, &t.acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let acme_owner = browser_as(&app, "acme\\acmeowner").await;
    for (path, id) in [("/dashboard", "new-sub-tenant"), ("/tenants", "new-tenant")] {
        let page = acme_owner.get_html(path).await;
        let button = between(&page, &format!("id=\"{id}\""), "</span>");
        assert!(
            button.contains("disabled") && button.contains("Not in plan Basic."),
            "{path}: {button}"
        );
    }
}

/// L4: a logo over 1 MiB sent from the form shows the form again with the logo's
/// limit; the API says the same (422 up to 8 MiB, 413 past it).
#[tokio::test]
async fn a_logo_of_several_mib_is_refused_with_the_logos_limit() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let mut big = png(8, 8);
    big.resize(3 * 1024 * 1024, 0);
    let r = upload(&app, &acme, "logo.png", &big).await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert_eq!(
        field_error(&html, "logo").as_deref(),
        Some("A logo has at most 256 KiB."),
        "{html}"
    );
    // Without the form's token the cut body is refused as any (403), nothing stored.
    let r = app
        .client
        .post(app.url(&format!("/tenants/{}/branding/logo", acme.id)))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(Some("forged"), "logo.png", "image/png", &big))
        .send()
        .await
        .unwrap();
    assert!(matches!(status(&r), 400 | 403), "{}", status(&r));
    let token = token_for(&app, &app.admin, false).await;
    let api = Api::new(&app, Some(&token));
    let put_logo = |body: Vec<u8>| {
        send(
            api.request(
                Method::PUT,
                &format!("/api/v1/tenants/{}/branding/logo", acme.id),
            )
            .header("content-type", "image/png")
            .body(body),
        )
    };
    let (code, body) = put_logo(big.clone()).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["errors"]["logo"], "A logo has at most 256 KiB.");
    let mut huge = big;
    huge.resize(9 * 1024 * 1024, 0);
    let (code, body) = put_logo(huge).await;
    assert_eq!(code, 413, "{body}");
    assert_eq!(body["detail"], "A logo has at most 256 KiB.");
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", acme.id))
        .await;
    assert_eq!(b["logo"]["value"], Value::Null);
}

/// L5, L6, L9: the branding page says what shows when nothing is set; a support
/// address is refused naming its fault; a reset of nothing records nothing.
#[tokio::test]
async fn the_branding_page_names_defaults_faults_and_resets_nothing() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let page = app
        .get_html(&format!("/tenants/{}/branding", acme.id))
        .await;
    assert_eq!(
        text_of(&page, "product_name-source"),
        "Now shown: tenantry (the default) — Not set on this tenant or above"
    );
    for (url, why) in [
        ("http://x", "“x” has no domain"),
        (
            "https://me:secret@help.example.com",
            "cannot carry a user name or password",
        ),
        ("ftp://help.example.com", "start its address with https://"),
    ] {
        let r = save(&app, &acme, &fields("", "", "", url)).await;
        assert_eq!(status(&r), 422, "{url}");
        let html = r.text().await.unwrap();
        let error = field_error(&html, "support_url").unwrap_or_default();
        assert!(error.contains(why), "{url}: {error}");
    }
    // Nothing set: a reset (page and API) changes nothing and records nothing.
    let events = format!(
        "SELECT count(*) FROM audit_events WHERE action LIKE 'branding.%' AND tenant_id = {}",
        acme.id
    );
    let rows = format!(
        "SELECT count(*) FROM tenant_branding WHERE tenant_id = {}",
        acme.id
    );
    let count = |sql: String| {
        let app = &app;
        async move {
            db(app)
                .await
                .query_one(&sql, &[])
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    let r = reset(&app, &acme, "product_name").await;
    assert_eq!(status(&r), 303);
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (s, body) = api
        .delete(&format!("/api/v1/tenants/{}/branding/logo", acme.id))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(count(events.clone()).await, 0);
    assert_eq!(count(rows).await, 0);
    // A value set, then reset: one event each.
    let r = save(&app, &acme, &fields("Acme", "", "", "")).await;
    assert_eq!(status(&r), 303);
    assert_eq!(status(&reset(&app, &acme, "product_name").await), 303);
    assert_eq!(count(events).await, 2);
}

/// L7, L8: a plan's delete is confirmed first, refused on its page while tenants
/// are on it; its tenants' quota use is shown as the statistics show it.
#[tokio::test]
async fn a_plans_delete_is_confirmed_and_its_page_marks_quota_use() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let basic = plan(&api, json!({"name": "Basic", "monthly_query_quota": 100})).await;
    put_on(&api, &t.a2, basic).await;
    queries_this_month(&app, &t.a2, 120).await;
    app.login_admin().await;
    let page = app.get_html(&format!("/plans/{basic}")).await;
    let row = between(&page, &format!("id=\"plan-tenant-{}\"", t.a2.id), "</tr>");
    assert!(row.contains("class=\"quota-over\""), "{row}");
    assert!(
        row.contains("120 % of 100 <strong class=\"quota-note\">(over the quota)</strong>"),
        "{row}"
    );
    // The page links to the confirmation; in use, it says why it cannot go.
    assert!(page.contains(&format!("href=\"/plans/{basic}/delete\"")));
    let r = app.get(&format!("/plans/{basic}/delete")).await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert_eq!(
        text_of(&html, "delete-error"),
        "1 tenant is on plan Basic: put it on another plan (or none) first."
    );
    let r = app
        .post_form(&format!("/plans/{basic}/delete"), &[("confirm", "yes")])
        .await;
    assert_eq!(status(&r), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"plan-form\""), "the plan's page: {html}");
    assert!(text_of(&html, "delete-error").starts_with("1 tenant is on plan Basic"));
    // Free: the confirmation says what goes; unconfirmed, nothing does.
    let (s, _) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"plan_id": null}),
        )
        .await;
    assert_eq!(s, 200);
    let html = app.get_html(&format!("/plans/{basic}/delete")).await;
    assert_eq!(text_of(&html, "confirm-title"), "Delete plan Basic?");
    assert_eq!(
        hidden_fields(&html, &format!("/plans/{basic}/delete")),
        [("confirm".to_string(), "yes".to_string())]
    );
    let r = app.post_form(&format!("/plans/{basic}/delete"), &[]).await;
    assert_eq!(status(&r), 200);
    assert_eq!(status(&app.get(&format!("/plans/{basic}")).await), 200);
    let r = app
        .post_form(&format!("/plans/{basic}/delete"), &[("confirm", "yes")])
        .await;
    assert_redirect_to(&r, "/plans");
    assert_eq!(status(&app.get(&format!("/plans/{basic}")).await), 404);
}
