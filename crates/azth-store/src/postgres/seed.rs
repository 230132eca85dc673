//! Bulk data for scale runs (`azth dev seed`): tenants with their system
//! roles and users holding `member`, inserted set-wise in batches as
//! `app_admin` (COPY cannot be used: FORCE ROW LEVEL SECURITY applies to the
//! table owner too). The audit trigger fires as for any insert.

use uuid::Uuid;

use super::PgStore;
use crate::StoreError;

/// What a seeding run created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seeded {
    pub tenants: u64,
    pub users: u64,
}

impl PgStore {
    /// Creates `tenants` tenants `seed-000001…` with `users_per_tenant` users
    /// each (`user<n>@<slug>.example`, all with `password_hash`, verified),
    /// 1,000 tenants' worth per transaction; `progress` gets the tenants done.
    pub async fn seed(
        &self,
        tenants: u32,
        users_per_tenant: u32,
        password_hash: &str,
        progress: impl Fn(u32),
    ) -> Result<Seeded, StoreError> {
        let mut done = Seeded::default();
        let mut first: u32 = 1;
        // Read as app_admin: the owner role sees nothing under FORCE RLS.
        let mut tx = self.system_tx("seeding continues after the last seeded tenant").await?;
        let start: i32 = sqlx::query_scalar(
            "select coalesce(max(substring(slug from 6)::int), 0) from tenants where slug ~ '^seed-[0-9]{6}$'",
        )
        .fetch_one(tx.conn())
        .await?;
        crate::Tx::commit(Box::new(tx)).await?;
        let start = i64::from(start);
        while first <= tenants {
            let last = (first + 999).min(tenants);
            let mut tx = self.system_tx("seeding test data").await?;
            let ids: Vec<Uuid> = sqlx::query_scalar(
                "insert into tenants (id, name, slug)
                 select gen_random_uuid(), 'Seed ' || i, 'seed-' || lpad(i::text, 6, '0')
                 from generate_series($1::bigint, $2::bigint) i
                 returning id",
            )
            .bind(start + i64::from(first))
            .bind(start + i64::from(last))
            .fetch_all(tx.conn())
            .await?;
            sqlx::query("select create_tenant_system_roles(id) from unnest($1::uuid[]) id")
                .bind(&ids)
                .execute(tx.conn())
                .await?;
            let users = sqlx::query(
                "insert into users (id, tenant_id, email, password_hash, email_verified)
                 select gen_random_uuid(), t.id, 'user' || g || '@' || t.slug || '.example', $2, true
                 from tenants t cross join generate_series(1, $3::int) g
                 where t.id = any($1)",
            )
            .bind(&ids)
            .bind(password_hash)
            .bind(i32::try_from(users_per_tenant).unwrap_or(i32::MAX))
            .execute(tx.conn())
            .await?
            .rows_affected();
            sqlx::query(
                "insert into user_roles (tenant_id, user_id, role_id)
                 select u.tenant_id, u.id, r.id from users u
                 join roles r on r.tenant_id = u.tenant_id and r.name = 'member' and r.deleted_at is null
                 where u.tenant_id = any($1)",
            )
            .bind(&ids)
            .execute(tx.conn())
            .await?;
            crate::Tx::commit(Box::new(tx)).await?;
            done.tenants += ids.len() as u64;
            done.users += users;
            progress(last);
            first = last + 1;
        }
        sqlx::query("analyze tenants, users, roles, user_roles, role_permissions").execute(self.pool()).await?;
        Ok(done)
    }
}
