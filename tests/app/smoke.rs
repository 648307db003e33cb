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
