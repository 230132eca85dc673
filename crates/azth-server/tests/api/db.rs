//! The test's own look into the database (as the store's system role), on
//! either backend: a few tests arrange states the API cannot reach (an
//! expired token, a seeded audit trail) or inspect rows directly. The SQL is
//! written once, in the dialect both databases share; values are bound as
//! [`Arg`]s, which each backend encodes its own way
//! (`azth_store::testing::TestStorage`).

pub use azth_store::testing::Arg;

use crate::support::TestApp;

impl TestApp {
    /// Runs one statement; returns the rows changed.
    pub async fn exec(&self, sql: &str, args: &[Arg]) -> u64 {
        self.db.exec(sql, args).await
    }

    /// Runs one statement once per argument list, in one transaction.
    pub async fn exec_many(&self, sql: &str, batches: &[Vec<Arg>]) {
        self.db.exec_many(sql, batches).await;
    }

    /// Runs one query; every column as text, `None` for NULL.
    pub async fn rows(&self, sql: &str, args: &[Arg]) -> Vec<Vec<Option<String>>> {
        self.db.rows(sql, args).await
    }

    /// The first column of the first row.
    pub async fn scalar(&self, sql: &str, args: &[Arg]) -> Option<String> {
        self.db.scalar(sql, args).await
    }
}
