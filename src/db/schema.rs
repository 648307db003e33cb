// @generated automatically by Diesel CLI.

diesel::table! {
    api_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        name -> Text,
        token_hash -> Text,
        prefix -> Text,
        read_only -> Bool,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    applications (id) {
        id -> Int8,
        tenant_id -> Int8,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Int8,
        occurred_at -> Timestamptz,
        actor_user_id -> Nullable<Int8>,
        actor_username -> Text,
        acting_tenant_id -> Nullable<Int8>,
        tenant_id -> Nullable<Int8>,
        action -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        client_addr -> Nullable<Text>,
        tenant_name -> Nullable<Text>,
        tenant_path -> Nullable<Array<Nullable<Int8>>>,
        acting_tenant_name -> Nullable<Text>,
        actor_home_id -> Nullable<Int8>,
    }
}

diesel::table! {
    cloud_assignments (cloud_id, tenant_id) {
        cloud_id -> Int8,
        tenant_id -> Int8,
    }
}

diesel::table! {
    clouds (id) {
        id -> Int8,
        tenant_id -> Int8,
        name -> Text,
        provider -> Text,
        visibility -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    credential_stuffing (tenant_id) {
        tenant_id -> Int8,
        enabled -> Bool,
        threshold -> Int4,
        window_minutes -> Int4,
        login_paths -> Array<Nullable<Text>>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    devices (id) {
        id -> Int8,
        tenant_id -> Int8,
        name -> Text,
        identifier -> Text,
        resolver_id -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    domains (id) {
        id -> Int8,
        tenant_id -> Int8,
        name -> Text,
        application_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    grants (id) {
        id -> Int8,
        user_id -> Int8,
        tenant_id -> Int8,
        role -> Text,
        scope -> Text,
        manage_subtenants -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Int8,
        key -> Text,
        request_hash -> Text,
        status -> Nullable<Int4>,
        response_body -> Nullable<Text>,
        location -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    ingestion_keys (id) {
        id -> Int8,
        name -> Text,
        key_hash -> Text,
        prefix -> Text,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    instances (id) {
        id -> Int8,
        tenant_id -> Int8,
        name -> Text,
        storage_gb -> Int4,
        memory_gb -> Int4,
        created_at -> Timestamptz,
        cloud_id -> Nullable<Int8>,
        owner_id -> Nullable<Int8>,
        status -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    invitations (id) {
        id -> Int8,
        tenant_id -> Int8,
        email -> Text,
        token_hash -> Text,
        role_id -> Nullable<Int8>,
        grant_role -> Nullable<Text>,
        grant_scope -> Nullable<Text>,
        manage_subtenants -> Bool,
        inviter_user_id -> Nullable<Int8>,
        inviter_login -> Text,
        status -> Text,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        accepted_user_id -> Nullable<Int8>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Int4,
        window_start -> Timestamptz,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        kind -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Nullable<Text>,
        invitation_id -> Nullable<Int8>,
        link_seed -> Nullable<Text>,
        requested_by_user_id -> Nullable<Int8>,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        sent_via -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        from_name -> Nullable<Text>,
        link_tenant_id -> Nullable<Int8>,
        reply_to -> Nullable<Text>,
    }
}

diesel::table! {
    outbox_attachments (id) {
        id -> Int8,
        outbox_id -> Int8,
        filename -> Text,
        content_type -> Text,
        content -> Bytea,
    }
}

diesel::table! {
    plans (id) {
        id -> Int8,
        name -> Text,
        monthly_query_quota -> Nullable<Int8>,
        max_users -> Nullable<Int4>,
        max_instances -> Nullable<Int8>,
        storage_limit_gb -> Nullable<Int8>,
        memory_limit_gb -> Nullable<Int8>,
        custom_branding -> Bool,
        custom_domain -> Bool,
        sub_tenants -> Bool,
        api_access -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    policies (id) {
        id -> Int8,
        tenant_id -> Int8,
        name -> Text,
        kind -> Text,
        threshold -> Nullable<Int4>,
        entries -> Array<Nullable<Text>>,
        inheritable -> Bool,
        enforcement -> Text,
        overrides_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    quota_alert_opt_ins (user_id) {
        user_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    quota_alerts (tenant_id, month, threshold) {
        tenant_id -> Int8,
        month -> Date,
        threshold -> Int2,
        queries -> Int8,
        quota -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    report_subscriptions (id) {
        id -> Int8,
        user_id -> Int8,
        tenant_id -> Int8,
        day_of_month -> Int2,
        scope -> Text,
        last_month -> Nullable<Date>,
        suspended_at -> Nullable<Timestamptz>,
        suspended_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        last_sent -> Nullable<Date>,
    }
}

diesel::table! {
    resolvers (id) {
        id -> Int8,
        tenant_id -> Int8,
        name -> Text,
        address -> Inet,
        policy_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    rule_locks (tenant_id) {
        tenant_id -> Int8,
        migration_id -> Nullable<Int8>,
        locked_by -> Nullable<Int8>,
        since -> Timestamptz,
        description -> Text,
    }
}

diesel::table! {
    rule_migrations (id) {
        id -> Int8,
        source_tenant_id -> Nullable<Int8>,
        target_tenant_id -> Nullable<Int8>,
        source_name -> Text,
        target_name -> Text,
        started_by -> Nullable<Int8>,
        started_by_login -> Text,
        state -> Text,
        total -> Int8,
        copied -> Int8,
        error -> Nullable<Text>,
        mappings -> Jsonb,
        target_version_before -> Int8,
        source_version -> Int8,
        target_settings_before -> Nullable<Jsonb>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamptz>,
        attempts -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        generation -> Int8,
        copied_upto -> Int8,
    }
}

diesel::table! {
    rule_set_versions (tenant_id, version) {
        tenant_id -> Int8,
        version -> Int8,
        created_at -> Timestamptz,
        actor_user_id -> Nullable<Int8>,
        actor_login -> Text,
        kind -> Text,
        summary -> Text,
        settings -> Jsonb,
        generation -> Int8,
    }
}

diesel::table! {
    rule_sets (tenant_id) {
        tenant_id -> Int8,
        version -> Int8,
        updated_at -> Timestamptz,
        generation -> Int8,
    }
}

diesel::table! {
    rules (row_id) {
        row_id -> Int8,
        rule_id -> Int8,
        tenant_id -> Int8,
        kind -> Text,
        application_id -> Nullable<Int8>,
        domain_id -> Nullable<Int8>,
        path -> Nullable<Text>,
        value -> Text,
        action -> Text,
        enabled -> Bool,
        valid_from -> Int8,
        valid_to -> Nullable<Int8>,
        generation -> Int8,
    }
}

diesel::table! {
    sessions (key_hash) {
        key_hash -> Text,
        state -> Jsonb,
        user_id -> Nullable<Int8>,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    subnets (id) {
        id -> Int8,
        tenant_id -> Int8,
        cidr -> Cidr,
        resolver_id -> Int8,
        policy_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    tenant_branding (tenant_id) {
        tenant_id -> Int8,
        product_name -> Nullable<Text>,
        primary_color -> Nullable<Text>,
        support_email -> Nullable<Text>,
        support_url -> Nullable<Text>,
        logo -> Nullable<Bytea>,
        logo_mime -> Nullable<Text>,
        logo_etag -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    tenant_labels (tenant_id, label) {
        tenant_id -> Int8,
        label -> Text,
    }
}

diesel::table! {
    tenant_paths (tenant_id) {
        tenant_id -> Int8,
        path -> Array<Int8>,
    }
}

diesel::table! {
    tenant_roles (id) {
        id -> Int8,
        name -> Text,
        permissions -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        public_clouds -> Bool,
    }
}

diesel::table! {
    tenant_subtree_totals (tenant_id) {
        tenant_id -> Int8,
        tenant_count -> Int8,
        disabled_count -> Int8,
        user_count -> Int8,
        instance_count -> Int8,
        child_count -> Int8,
        storage_gb -> Int8,
        memory_gb -> Int8,
    }
}

diesel::table! {
    tenants (id) {
        id -> Int8,
        parent_id -> Nullable<Int8>,
        name -> Text,
        description -> Text,
        subdomain -> Text,
        custom_domain -> Nullable<Text>,
        enabled -> Bool,
        can_have_subtenants -> Bool,
        tenant_role_id -> Int8,
        user_count -> Int4,
        instance_count -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        custom_domain_status -> Nullable<Text>,
        custom_domain_token -> Nullable<Text>,
        custom_domain_verified_at -> Nullable<Timestamptz>,
        monthly_query_quota -> Nullable<Int8>,
        storage_limit_gb -> Nullable<Int8>,
        memory_limit_gb -> Nullable<Int8>,
        max_instances -> Nullable<Int8>,
        max_users -> Nullable<Int4>,
        plan_id -> Nullable<Int8>,
    }
}

diesel::table! {
    usage_batches (batch_id) {
        batch_id -> Text,
        key_id -> Int8,
        request_hash -> Text,
        answer -> Nullable<Jsonb>,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    usage_daily (tenant_id, day) {
        tenant_id -> Int8,
        day -> Date,
        queries -> Int8,
        blocked -> Int8,
    }
}

diesel::table! {
    usage_monthly (tenant_id, month) {
        tenant_id -> Int8,
        month -> Date,
        queries -> Int8,
        blocked -> Int8,
        subtree_queries -> Int8,
        subtree_blocked -> Int8,
    }
}

diesel::table! {
    usage_pending (id) {
        id -> Int8,
        tenant_id -> Int8,
        month -> Date,
        queries -> Int8,
        blocked -> Int8,
        subtree_queries -> Int8,
        subtree_blocked -> Int8,
    }
}

diesel::table! {
    user_roles (id) {
        id -> Int8,
        tenant_id -> Int8,
        name -> Text,
        permissions -> Jsonb,
        multi_tenant -> Bool,
        template_id -> Nullable<Int8>,
        customised -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        tenant_id -> Int8,
        username -> Text,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        password_hash -> Text,
        enabled -> Bool,
        source -> Text,
        session_epoch -> Int4,
        last_login_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        role_id -> Nullable<Int8>,
        storage_limit_gb -> Nullable<Int8>,
        memory_limit_gb -> Nullable<Int8>,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(applications -> tenants (tenant_id));
diesel::joinable!(cloud_assignments -> clouds (cloud_id));
diesel::joinable!(cloud_assignments -> tenants (tenant_id));
diesel::joinable!(clouds -> tenants (tenant_id));
diesel::joinable!(credential_stuffing -> tenants (tenant_id));
diesel::joinable!(devices -> tenants (tenant_id));
diesel::joinable!(domains -> tenants (tenant_id));
diesel::joinable!(grants -> tenants (tenant_id));
diesel::joinable!(grants -> users (user_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(ingestion_keys -> users (created_by));
diesel::joinable!(instances -> clouds (cloud_id));
diesel::joinable!(instances -> tenants (tenant_id));
diesel::joinable!(instances -> users (owner_id));
diesel::joinable!(invitations -> tenants (tenant_id));
diesel::joinable!(invitations -> user_roles (role_id));
diesel::joinable!(outbox -> invitations (invitation_id));
diesel::joinable!(outbox -> users (requested_by_user_id));
diesel::joinable!(outbox_attachments -> outbox (outbox_id));
diesel::joinable!(policies -> tenants (tenant_id));
diesel::joinable!(quota_alert_opt_ins -> users (user_id));
diesel::joinable!(quota_alerts -> tenants (tenant_id));
diesel::joinable!(report_subscriptions -> tenants (tenant_id));
diesel::joinable!(report_subscriptions -> users (user_id));
diesel::joinable!(resolvers -> policies (policy_id));
diesel::joinable!(resolvers -> tenants (tenant_id));
diesel::joinable!(rule_locks -> rule_migrations (migration_id));
diesel::joinable!(rule_locks -> tenants (tenant_id));
diesel::joinable!(rule_locks -> users (locked_by));
diesel::joinable!(rule_migrations -> users (started_by));
diesel::joinable!(rule_set_versions -> tenants (tenant_id));
diesel::joinable!(rule_set_versions -> users (actor_user_id));
diesel::joinable!(rule_sets -> tenants (tenant_id));
diesel::joinable!(rules -> tenants (tenant_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(subnets -> policies (policy_id));
diesel::joinable!(subnets -> tenants (tenant_id));
diesel::joinable!(tenant_branding -> tenants (tenant_id));
diesel::joinable!(tenant_labels -> tenants (tenant_id));
diesel::joinable!(tenant_paths -> tenants (tenant_id));
diesel::joinable!(tenant_subtree_totals -> tenants (tenant_id));
diesel::joinable!(tenants -> plans (plan_id));
diesel::joinable!(tenants -> tenant_roles (tenant_role_id));
diesel::joinable!(usage_batches -> ingestion_keys (key_id));
diesel::joinable!(user_roles -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(users -> user_roles (role_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    applications,
    audit_events,
    cloud_assignments,
    clouds,
    credential_stuffing,
    devices,
    domains,
    grants,
    idempotency_keys,
    ingestion_keys,
    instances,
    invitations,
    login_throttle,
    outbox,
    outbox_attachments,
    plans,
    policies,
    quota_alert_opt_ins,
    quota_alerts,
    report_subscriptions,
    resolvers,
    rule_locks,
    rule_migrations,
    rule_set_versions,
    rule_sets,
    rules,
    sessions,
    subnets,
    tenant_branding,
    tenant_labels,
    tenant_paths,
    tenant_roles,
    tenant_subtree_totals,
    tenants,
    usage_batches,
    usage_daily,
    usage_monthly,
    usage_pending,
    user_roles,
    users,
);
