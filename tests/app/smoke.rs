use crate::helpers::*;

#[tokio::test]
async fn admin_logs_in_and_sees_the_tenants_page() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    app.login_admin().await;
    let html = app.get_html("/tenants").await;
    assert!(html.contains(&acme.name), "{html}");
    assert!(html.contains("id=\"acting-tenant\""));
}

/// HEAD answers wherever GET does: the same status and headers, no body.
#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let head = |path: String| {
        let request = app.client.head(app.url(&path));
        async move { request.send().await.unwrap() }
    };
    let r = head("/login".into()).await;
    assert_eq!(status(&r), 200);
    assert!(r
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("text/html")));
    assert!(r.text().await.unwrap().is_empty());
    // Logged out, a page's HEAD redirects to the login as its GET does.
    assert_eq!(status(&head("/tenants".into()).await), 303);
    app.login_admin().await;
    for path in [
        "/dashboard".to_string(),
        "/tenants".into(),
        format!("/tenants/{}", acme.id),
        format!("/tenants/{}/edit", acme.id),
    ] {
        let r = head(path.clone()).await;
        assert_eq!(status(&r), 200, "{path}");
        assert!(r.text().await.unwrap().is_empty(), "{path}");
    }
    // Still a 404 where GET is one.
    assert_eq!(status(&head("/tenants/999999".into()).await), 404);
    // HEAD is no way around a POST route: it answers as an unknown route does.
    let post_only = head(format!("/tenants/{}/disable", acme.id)).await;
    let get_unknown = app
        .client
        .get(app.url(&format!("/tenants/{}/disable", acme.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&post_only), status(&get_unknown));
    assert!(app.reload(&acme).await.is_some_and(|t| t.enabled));
}
