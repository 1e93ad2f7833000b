//! The SQLite backend: one file, WAL journal, `synchronous=FULL`, embedded migrations.

use std::str::FromStr;

use apiops_core::{ErrorEvent, Service};
use sqlx::Row;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqlSafeStr, SqlitePool};

use crate::{EventFilter, Store, StoreError, dedup_key};

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "events".into(),
        MigrationType::Simple,
        include_str!("../migrations/sqlite/0001_events.sql").into_sql_str(),
        false,
    )])
}

/// An event store in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(5));
        let file = options.get_filename().to_path_buf();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
            && file.to_string_lossy() != ":memory:"
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Database(format!("creating {}: {e}", dir.display())))?;
        }
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { 4 })
            .connect_with(options)
            .await?;
        migrator()
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrating: {e}")))?;
        Ok(SqliteStore { pool })
    }
}

fn parse<T: FromStr>(id: i64, field: &str, value: &str) -> Result<T, StoreError> {
    value.parse().map_err(|_| StoreError::Corrupt {
        id,
        reason: format!("{field} {value:?}"),
    })
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn append_events(&self, events: &[ErrorEvent]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let now = jiff::Timestamp::now().as_second();
        let mut inserted = 0;
        for e in events {
            let r = sqlx::query(
                "INSERT OR IGNORE INTO events (dedup_key, ts_unix, timestamp, service, error_code, category, severity, resource_type, resource_id, context, action_taken, result, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(dedup_key(e))
            .bind(e.timestamp.as_second())
            .bind(e.timestamp.to_string())
            .bind(e.service.as_str())
            .bind(&e.error_code)
            .bind(e.category.as_str())
            .bind(e.severity.as_str())
            .bind(&e.resource_type)
            .bind(&e.resource_id)
            .bind(&e.context)
            .bind(e.action_taken.as_str())
            .bind(e.result.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            inserted += r.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn events(&self, filter: &EventFilter) -> Result<Vec<ErrorEvent>, StoreError> {
        let mut sql = String::from(
            "SELECT id, timestamp, service, error_code, category, severity, resource_type, resource_id, context, action_taken, result FROM events WHERE ts_unix >= ?",
        );
        if !filter.services.is_empty() {
            let marks = vec!["?"; filter.services.len()].join(", ");
            sql.push_str(&format!(" AND service IN ({marks})"));
        }
        sql.push_str(" ORDER BY ts_unix DESC, id DESC");
        if filter.limit.is_some() {
            sql.push_str(" LIMIT ?");
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.since.map_or(i64::MIN, |t| t.as_second()));
        for s in &filter.services {
            q = q.bind(s.as_str());
        }
        if let Some(limit) = filter.limit {
            q = q.bind(i64::from(limit));
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows.into_iter().rev() {
            let id: i64 = row.try_get("id")?;
            let text =
                |name: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(name)?) };
            out.push(ErrorEvent {
                timestamp: parse(id, "timestamp", &text("timestamp")?)?,
                service: parse::<Service>(id, "service", &text("service")?)?,
                error_code: text("error_code")?,
                category: parse(id, "category", &text("category")?)?,
                severity: parse(id, "severity", &text("severity")?)?,
                resource_type: text("resource_type")?,
                resource_id: text("resource_id")?,
                context: text("context")?,
                action_taken: parse(id, "action_taken", &text("action_taken")?)?,
                result: parse(id, "result", &text("result")?)?,
            });
        }
        Ok(out)
    }

    async fn event_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiops_core::{ActionTaken, Category, EventResult, Severity};

    fn ev(code: &str, id: &str, ts: &str) -> ErrorEvent {
        ErrorEvent {
            timestamp: ts.parse().expect("ts"),
            service: Service::Twilio,
            error_code: code.into(),
            category: Category::Carrier,
            severity: Severity::Warning,
            resource_type: "message".into(),
            resource_id: id.into(),
            context: "ctx".into(),
            action_taken: ActionTaken::None,
            result: EventResult::Failed,
        }
    }

    #[tokio::test]
    async fn appends_dedups_and_reads_back_across_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}/nested/dir/apiops.db", dir.path().display());
        let store = SqliteStore::open(&url).await.expect("open");
        let a = ev("30003", "SM1", "2026-11-25T10:00:00Z");
        let b = ev("30007", "SM2", "2026-11-25T11:00:00Z");
        assert_eq!(
            store
                .append_events(&[a.clone(), b.clone()])
                .await
                .expect("append"),
            2
        );
        assert_eq!(
            store
                .append_events(std::slice::from_ref(&a))
                .await
                .expect("append"),
            0,
            "duplicate skipped"
        );
        drop(store);
        let store = SqliteStore::open(&url).await.expect("reopen");
        assert_eq!(store.event_count().await.expect("count"), 2);
        let all = store.events(&EventFilter::default()).await.expect("read");
        assert_eq!(all, vec![a.clone(), b.clone()]);
        let recent = store
            .events(&EventFilter {
                since: Some("2026-11-25T10:30:00Z".parse().expect("ts")),
                ..Default::default()
            })
            .await
            .expect("read");
        assert_eq!(recent, vec![b.clone()]);
        let none = store
            .events(&EventFilter {
                services: vec![Service::Stripe],
                ..Default::default()
            })
            .await
            .expect("read");
        assert!(none.is_empty());
        let last = store
            .events(&EventFilter {
                limit: Some(1),
                ..Default::default()
            })
            .await
            .expect("read");
        assert_eq!(last, vec![b]);
    }

    #[tokio::test]
    async fn bad_urls_are_clear_errors() {
        assert!(matches!(
            crate::open("mysql://x").await,
            Err(StoreError::Url(_))
        ));
        assert!(matches!(
            crate::open("postgres://x").await,
            Err(StoreError::Url(_))
        ));
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("f");
        std::fs::write(&file, "x").expect("write");
        // A path whose parent is a file cannot be created.
        let url = format!("sqlite://{}/db.sqlite", file.display());
        assert!(SqliteStore::open(&url).await.is_err());
    }
}
