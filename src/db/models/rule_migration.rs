//! Rule-set migrations (issue #13, part B): the job rows, their lease, the copy
//! into a new generation of the target's rules and the swap (a pointer move), as
//! set-wise statements. Every write of a running job names its lease owner: a
//! process that lost its lease changes nothing.

use crate::db::schema::{credential_stuffing, rule_locks, rule_migrations, rule_sets, rules};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = rule_migrations)]
pub struct RuleMigration {
    pub id: i64,
    pub source_tenant_id: Option<i64>,
    pub target_tenant_id: Option<i64>,
    pub source_name: String,
    pub target_name: String,
    pub started_by: Option<i64>,
    pub started_by_login: String,
    pub state: String,
    pub total: i64,
    pub copied: i64,
    pub error: Option<String>,
    pub mappings: serde_json::Value,
    pub target_version_before: i64,
    pub source_version: i64,
    pub target_settings_before: Option<serde_json::Value>,
    /// The generation of the target's rules the copy fills (drawn when queued).
    pub generation: i64,
    /// The highest source rule id copied so far: the copy resumes after it.
    pub copied_upto: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A migration to queue.
pub struct NewMigration<'a> {
    pub source_tenant_id: i64,
    pub target_tenant_id: i64,
    pub source_name: &'a str,
    pub target_name: &'a str,
    pub started_by: Option<i64>,
    pub started_by_login: &'a str,
    pub mappings: serde_json::Value,
    pub target_version_before: i64,
    pub source_version: i64,
    pub target_settings_before: Option<serde_json::Value>,
    /// The source's current rules, counted under its locked head: the job's total
    /// from the start ("0 of N" while queued).
    pub total: i64,
}

/// What a claim found: a job to run, or a crashed run's job (its lease ran out
/// while copying or swapping) to mark failed.
pub enum Claimed {
    Run(RuleMigration),
    Crashed(RuleMigration),
}

/// What a heartbeat found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heartbeat {
    /// The lease is ours and extended.
    Renewed,
    /// Another process holds it now, or the job ended: stop working on it.
    Lost,
    /// The row is held by a transaction (our swap): nobody else can claim it meanwhile.
    Busy,
}

impl RuleMigration {
    pub async fn insert(
        conn: &mut AsyncPgConnection,
        m: NewMigration<'_>,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::insert_into(rule_migrations::table)
            .values((
                rule_migrations::source_tenant_id.eq(m.source_tenant_id),
                rule_migrations::target_tenant_id.eq(m.target_tenant_id),
                rule_migrations::source_name.eq(m.source_name),
                rule_migrations::target_name.eq(m.target_name),
                rule_migrations::started_by.eq(m.started_by),
                rule_migrations::started_by_login.eq(m.started_by_login),
                rule_migrations::state.eq("queued"),
                rule_migrations::mappings.eq(m.mappings),
                rule_migrations::target_version_before.eq(m.target_version_before),
                rule_migrations::source_version.eq(m.source_version),
                rule_migrations::target_settings_before.eq(m.target_settings_before),
                rule_migrations::total.eq(m.total),
                rule_migrations::created_at.eq(now),
                rule_migrations::updated_at.eq(now),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Self> {
        rule_migrations::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// The migration, locked for a state change (rollback, retry).
    pub async fn find_for_update(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Self> {
        rule_migrations::table
            .find(id)
            .select(Self::as_select())
            .for_update()
            .first(conn)
            .await
    }

    /// Claims one job: the oldest queued one, or one whose lease ran out while it
    /// ran (a crashed process: returned as `Crashed`, its lease taken so no one
    /// else handles it too). `FOR UPDATE SKIP LOCKED`: processes never wait on
    /// each other's claims. A queued job becomes `copying` under `owner` until
    /// `lease_until` (its total was counted when it was queued: `start`, `retry`).
    pub async fn claim(
        conn: &mut AsyncPgConnection,
        owner: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> QueryResult<Option<Claimed>> {
        crate::db::transaction::in_transaction(conn, async |conn| {
            let found: Option<Self> = rule_migrations::table
                .filter(
                    rule_migrations::state
                        .eq("queued")
                        .or(rule_migrations::state
                            .eq_any(["copying", "swapping"])
                            .and(rule_migrations::lease_until.lt(now))),
                )
                .order(rule_migrations::id)
                .select(Self::as_select())
                .for_update()
                .skip_locked()
                .first(conn)
                .await
                .optional()?;
            let Some(m) = found else { return Ok(None) };
            let crashed = m.state != "queued";
            let m = diesel::update(rule_migrations::table.find(m.id))
                .set((
                    rule_migrations::state.eq(if crashed { m.state.as_str() } else { "copying" }),
                    rule_migrations::lease_owner.eq(owner),
                    rule_migrations::lease_until.eq(lease_until),
                    rule_migrations::updated_at.eq(now),
                ))
                .returning(Self::as_returning())
                .get_result(conn)
                .await?;
            Ok(Some(if crashed {
                Claimed::Crashed(m)
            } else {
                Claimed::Run(m)
            }))
        })
        .await
    }

    /// Extends the lease while `owner` holds it. The row is taken `SKIP LOCKED`:
    /// while a transaction holds it (this runner's own swap, which keeps every
    /// claimer off it too) the heartbeat does not wait, it answers `Busy`.
    pub async fn heartbeat(
        conn: &mut AsyncPgConnection,
        id: i64,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> QueryResult<Heartbeat> {
        crate::db::transaction::in_transaction(conn, async |conn| {
            let row: Option<(Option<String>, String)> = rule_migrations::table
                .find(id)
                .select((rule_migrations::lease_owner, rule_migrations::state))
                .for_update()
                .skip_locked()
                .first(conn)
                .await
                .optional()?;
            let Some((holder, state)) = row else {
                return Ok(Heartbeat::Busy);
            };
            if holder.as_deref() != Some(owner) || !["copying", "swapping"].contains(&&*state) {
                return Ok(Heartbeat::Lost);
            }
            diesel::update(rule_migrations::table.find(id))
                .set(rule_migrations::lease_until.eq(lease_until))
                .execute(conn)
                .await?;
            Ok(Heartbeat::Renewed)
        })
        .await
    }

    /// The distinct (application, domain) pairs the tenant's current rules are
    /// bound to (both set): what a migration's mappings must keep consistent.
    pub async fn bound_pairs(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
    ) -> QueryResult<Vec<(i64, i64)>> {
        rules::table
            .filter(super::rules::current_of(tenant_id))
            .filter(rules::application_id.is_not_null())
            .filter(rules::domain_id.is_not_null())
            .select((
                rules::application_id.assume_not_null(),
                rules::domain_id.assume_not_null(),
            ))
            .distinct()
            .load(conn)
            .await
    }

    /// Copies the next at most `batch` source rules (after `copied_upto`, by rule
    /// id) with the mappings applied into the job's generation of the target's
    /// rules, valid from the swap's version (the target's head cannot move while
    /// it is locked), and advances `copied_upto` and `copied` in the same
    /// statement: a batch is there entirely or not at all, so a resumed copy never
    /// copies a rule twice. Returns how many were copied (0: the copy is complete).
    /// Nothing happens unless `owner` holds the lease (the job row is locked
    /// first: a claim cannot take it over halfway).
    pub async fn copy_batch(
        conn: &mut AsyncPgConnection,
        id: i64,
        owner: &str,
        batch: i64,
        now: DateTime<Utc>,
    ) -> QueryResult<i64> {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let r: N = diesel::sql_query(
            "WITH m AS (
                 -- The mappings taken apart once: read per row from the stored
                 -- (compressed) document, they cost more than the copy.
                 SELECT id, source_tenant_id, target_tenant_id, generation,
                        mappings -> 'applications' AS apps, mappings -> 'domains' AS doms,
                        copied_upto, target_version_before
                 FROM rule_migrations
                 WHERE id = $1 AND lease_owner = $2 AND state = 'copying'
                 FOR UPDATE
             ), batch AS MATERIALIZED (
                 SELECT r.rule_id, r.kind,
                        (m.apps ->> r.application_id::text)::bigint AS application_id,
                        (m.doms ->> r.domain_id::text)::bigint AS domain_id,
                        r.path, r.value, r.action, r.enabled
                 FROM m, rules r
                 -- Scalar sub-selects, not joins: the planner then walks the
                 -- current rules' index from the last copied id and stops after the
                 -- batch.
                 WHERE r.tenant_id = (SELECT source_tenant_id FROM m)
                   AND r.generation = (SELECT s.generation FROM rule_sets s
                                       WHERE s.tenant_id = (SELECT source_tenant_id FROM m))
                   AND r.valid_to IS NULL
                   AND r.rule_id > (SELECT copied_upto FROM m)
                 ORDER BY r.rule_id
                 LIMIT $3
             ), copied AS (
                 INSERT INTO rules (tenant_id, generation, kind, application_id, domain_id,
                                    path, value, action, enabled, valid_from)
                 SELECT m.target_tenant_id, m.generation, b.kind, b.application_id,
                        b.domain_id, b.path, b.value, b.action, b.enabled,
                        m.target_version_before + 1
                 FROM m, batch b
                 ORDER BY b.rule_id
             ), counted AS (
                 UPDATE rule_migrations
                 SET (copied, copied_upto) = (
                         SELECT copied + count(*), coalesce(max(rule_id), copied_upto)
                         FROM batch),
                     updated_at = $4
                 WHERE id = (SELECT id FROM m)
             )
             SELECT count(*) AS n FROM batch",
        )
        .bind::<BigInt, _>(id)
        .bind::<Text, _>(owner)
        .bind::<BigInt, _>(batch)
        .bind::<Timestamptz, _>(now)
        .get_result(conn)
        .await?;
        Ok(r.n)
    }

    /// Moves the job to `state` while `owner` holds it; `false`: it lost the lease.
    pub async fn advance(
        conn: &mut AsyncPgConnection,
        id: i64,
        owner: &str,
        from: &str,
        state: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            rule_migrations::table
                .find(id)
                .filter(rule_migrations::lease_owner.eq(owner))
                .filter(rule_migrations::state.eq(from)),
        )
        .set((
            rule_migrations::state.eq(state),
            rule_migrations::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
        Ok(n == 1)
    }

    /// Inside the rollback's transaction: the target's current rules become those
    /// of version `before`, changing only what differs. The head goes back to
    /// `before`'s generation if it left it (the generation's rows are as they
    /// were: nothing else writes there). A current row of that generation that
    /// dates from `before` or earlier is in that version already and stays as it
    /// is (so its rule keeps its since-version); rows begun after it are closed at
    /// `version`, and the rows of `before` closed since are reinserted under their
    /// rule ids from `version`. After a failed migration (its swap never
    /// committed, the target locked throughout) nothing differs: no row is
    /// written. The caller records `version`, which reads the head's generation.
    pub async fn restore_rules(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        before: i64,
        version: i64,
    ) -> QueryResult<()> {
        use crate::db::schema::rule_set_versions;
        let current = super::rules::current_generation(conn, tenant_id).await?;
        // Version 0 (no row) is empty in any generation: the current one.
        let generation = rule_set_versions::table
            .find((tenant_id, before))
            .select(rule_set_versions::generation)
            .get_result(conn)
            .await
            .optional()?
            .unwrap_or(current);
        if generation != current {
            diesel::update(rule_sets::table.find(tenant_id))
                .set(rule_sets::generation.eq(generation))
                .execute(conn)
                .await?;
        }
        diesel::update(
            rules::table
                .filter(rules::tenant_id.eq(tenant_id))
                .filter(rules::generation.eq(generation))
                .filter(rules::valid_to.is_null())
                .filter(rules::valid_from.gt(before)),
        )
        .set(rules::valid_to.eq(version))
        .execute(conn)
        .await?;
        // Rows of one rule never overlap: a rule whose current row was kept has no
        // closed row valid at `before`.
        diesel::sql_query(
            "INSERT INTO rules (rule_id, tenant_id, generation, kind, application_id,
                                domain_id, path, value, action, enabled, valid_from)
             SELECT rule_id, tenant_id, generation, kind, application_id, domain_id, path,
                    value, action, enabled, $4
             FROM rules
             WHERE tenant_id = $1 AND generation = $2 AND valid_from <= $3 AND valid_to > $3
             ORDER BY rule_id",
        )
        .bind::<BigInt, _>(tenant_id)
        .bind::<BigInt, _>(generation)
        .bind::<BigInt, _>(before)
        .bind::<BigInt, _>(version)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Deletes the rows of the migration's generation of the target's rules once
    /// it is abandoned (a rollback, a retry that starts the copy afresh): no
    /// version names it and the head is elsewhere (checked here too: rows a
    /// version reads are never deleted). Returns how many.
    pub async fn drop_copy(conn: &mut AsyncPgConnection, m: &RuleMigration) -> QueryResult<usize> {
        let Some(target) = m.target_tenant_id else {
            return Ok(0);
        };
        diesel::sql_query(
            "DELETE FROM rules
             WHERE tenant_id = $1 AND generation = $2
               AND NOT EXISTS (SELECT 1 FROM rule_sets WHERE tenant_id = $1 AND generation = $2)
               AND NOT EXISTS (SELECT 1 FROM rule_set_versions
                               WHERE tenant_id = $1 AND generation = $2)",
        )
        .bind::<BigInt, _>(target)
        .bind::<BigInt, _>(m.generation)
        .execute(conn)
        .await
    }

    /// Ends the job (`done`, `failed`, `rolled_back`), giving up its lease.
    pub async fn finish(
        conn: &mut AsyncPgConnection,
        id: i64,
        state: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::update(rule_migrations::table.find(id))
            .set((
                rule_migrations::state.eq(state),
                rule_migrations::error.eq(error),
                rule_migrations::lease_owner.eq(None::<String>),
                rule_migrations::lease_until.eq(None::<DateTime<Utc>>),
                rule_migrations::updated_at.eq(now),
                rule_migrations::finished_at.eq(now),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Queues a failed job again (retry): one more attempt, `total` the source's
    /// rules now; the copy so far is kept unless the source changed since it was
    /// made (`source_version`): then it is deleted and the copy starts afresh.
    pub async fn requeue(
        conn: &mut AsyncPgConnection,
        id: i64,
        source_version: i64,
        total: i64,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        let m = Self::find(conn, id).await?;
        let (mut copied, mut copied_upto) = (m.copied, m.copied_upto);
        if m.source_version != source_version {
            Self::drop_copy(conn, &m).await?;
            (copied, copied_upto) = (0, 0);
        }
        diesel::update(rule_migrations::table.find(id))
            .set((
                rule_migrations::state.eq("queued"),
                rule_migrations::total.eq(total),
                rule_migrations::copied.eq(copied),
                rule_migrations::copied_upto.eq(copied_upto),
                rule_migrations::error.eq(None::<String>),
                rule_migrations::source_version.eq(source_version),
                rule_migrations::attempts.eq(rule_migrations::attempts + 1),
                rule_migrations::updated_at.eq(now),
                rule_migrations::finished_at.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Removes the migration's lock on `tenant_id` (if it holds it).
    pub async fn unlock(conn: &mut AsyncPgConnection, id: i64, tenant_id: i64) -> QueryResult<()> {
        diesel::delete(
            rule_locks::table
                .filter(rule_locks::tenant_id.eq(tenant_id))
                .filter(rule_locks::migration_id.eq(id)),
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Sets the tenant's credential-stuffing row to exactly `settings` (`None`:
    /// no row, the defaults): a swap copies the source's, a rollback puts the
    /// target's back.
    pub async fn put_settings(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        settings: Option<&crate::domain::rules::CredentialStuffing>,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        match settings {
            Some(s) => super::rules::save_settings(conn, tenant_id, s, now).await,
            None => diesel::delete(credential_stuffing::table.find(tenant_id))
                .execute(conn)
                .await
                .map(|_| ()),
        }
    }

    /// A rule lock in the subtree of `tenant_id` (the tenant's name and the
    /// migration holding it): such a tenant cannot be deleted.
    pub async fn lock_in_subtree(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
    ) -> QueryResult<Option<(String, Option<i64>)>> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            name: String,
            #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
            migration_id: Option<i64>,
        }
        let row: Option<Row> = diesel::sql_query(
            "SELECT t.name, l.migration_id FROM rule_locks l
             JOIN tenants t ON t.id = l.tenant_id JOIN tenant_paths p ON p.tenant_id = t.id
             WHERE p.path @> ARRAY[$1]::bigint[] ORDER BY t.id LIMIT 1",
        )
        .bind::<BigInt, _>(tenant_id)
        .get_result(conn)
        .await
        .optional()?;
        Ok(row.map(|r| (r.name, r.migration_id)))
    }
}
