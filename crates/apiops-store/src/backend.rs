//! The one `impl Store` both backends share: each method of [`crate::Store`] forwards to the
//! function of the same name in the module for that group of tables (`events`, `journal`,
//! `confirmations`, `inbox`, `monitor`, `scans`), the backend's own or the shared one, so both
//! backends are laid out the same way and a method missing from either is a compile error, not
//! a silent gap.
//!
//! It holds no SQL: the statements live in `shared/` (those both backends run alike),
//! `sqlite/` and `postgres/`.

/// Implements [`crate::Store`] for `$store` by forwarding each method to
/// `<group>::<method>(store, args...)` at the call site.
macro_rules! store_by_table_group {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
            async fn append_events(
                &self,
                events: &[apiops_core::ErrorEvent],
            ) -> Result<u64, $crate::StoreError> {
                events::append_events(self, events).await
            }

            async fn events(
                &self,
                filter: &$crate::EventFilter,
            ) -> Result<Vec<apiops_core::ErrorEvent>, $crate::StoreError> {
                events::events(self, filter).await
            }

            async fn event_count(&self) -> Result<u64, $crate::StoreError> {
                events::event_count(self).await
            }

            async fn journal_plan(
                &self,
                key: &str,
                plan_json: &str,
                now: jiff::Timestamp,
            ) -> Result<$crate::JournalPlan, $crate::StoreError> {
                journal::journal_plan(self, key, plan_json, now).await
            }

            async fn journaled_plan(
                &self,
                key: &str,
            ) -> Result<Option<$crate::JournalPlan>, $crate::StoreError> {
                journal::journaled_plan(self, key).await
            }

            async fn journal_steps(
                &self,
                key: &str,
            ) -> Result<Vec<$crate::JournalStep>, $crate::StoreError> {
                journal::journal_steps(self, key).await
            }

            async fn journal_step(
                &self,
                key: &str,
                step: u32,
                status: $crate::StepStatus,
                detail: &str,
                events: &[apiops_core::ErrorEvent],
                now: jiff::Timestamp,
            ) -> Result<u64, $crate::StoreError> {
                journal::journal_step(self, key, step, status, detail, events, now).await
            }

            async fn journal_latest(
                &self,
                base: &str,
            ) -> Result<Option<$crate::JournalPlan>, $crate::StoreError> {
                journal::journal_latest(self, base).await
            }

            async fn journal_lease(
                &self,
                key: &str,
                holder: &str,
                now: jiff::Timestamp,
                until: jiff::Timestamp,
            ) -> Result<Result<(), $crate::Lease>, $crate::StoreError> {
                journal::journal_lease(self, key, holder, now, until).await
            }

            async fn journal_lease_steal(
                &self,
                key: &str,
                from: &str,
                to: &str,
                until: jiff::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                journal::journal_lease_steal(self, key, from, to, until).await
            }

            async fn journal_release(
                &self,
                key: &str,
                holder: &str,
            ) -> Result<(), $crate::StoreError> {
                journal::journal_release(self, key, holder).await
            }

            async fn confirmation_put(
                &self,
                c: &$crate::Confirmation,
            ) -> Result<bool, $crate::StoreError> {
                confirmations::confirmation_put(self, c).await
            }

            async fn confirmation(
                &self,
                id: &str,
            ) -> Result<Option<$crate::Confirmation>, $crate::StoreError> {
                confirmations::confirmation(self, id).await
            }

            async fn confirmations_pending(
                &self,
                now: jiff::Timestamp,
                limit: u32,
            ) -> Result<Vec<$crate::Confirmation>, $crate::StoreError> {
                confirmations::confirmations_pending(self, now, limit).await
            }

            async fn confirmation_decide(
                &self,
                id: &str,
                state: $crate::ConfirmationState,
                by: &str,
                now: jiff::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                confirmations::confirmation_decide(self, id, state, by, now).await
            }

            async fn journal_finish(
                &self,
                key: &str,
                now: jiff::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                journal::journal_finish(self, key, now).await
            }

            async fn journal_forget(&self, key: &str) -> Result<(), $crate::StoreError> {
                journal::journal_forget(self, key).await
            }

            async fn inbox_append(
                &self,
                events: &[$crate::InboxEvent],
            ) -> Result<Vec<bool>, $crate::StoreError> {
                inbox::inbox_append(self, events).await
            }

            async fn inbox_count(
                &self,
                service: Option<apiops_core::Service>,
            ) -> Result<u64, $crate::StoreError> {
                inbox::inbox_count(self, service).await
            }

            async fn inbox_has(
                &self,
                service: apiops_core::Service,
                dedup_key: &str,
            ) -> Result<bool, $crate::StoreError> {
                inbox::inbox_has(self, service, dedup_key).await
            }

            async fn inbox_unprocessed(
                &self,
                limit: u32,
            ) -> Result<Vec<$crate::StoredInboxEvent>, $crate::StoreError> {
                inbox::inbox_unprocessed(self, limit).await
            }

            async fn inbox_processed(
                &self,
                ids: &[i64],
                events: &[apiops_core::ErrorEvent],
                now: jiff::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                inbox::inbox_processed(self, ids, events, now).await
            }

            async fn inbox_prune_payloads(
                &self,
                before: jiff::Timestamp,
                limit: u32,
            ) -> Result<u64, $crate::StoreError> {
                inbox::inbox_prune_payloads(self, before, limit).await
            }

            async fn events_prune(
                &self,
                before: jiff::Timestamp,
                limit: u32,
            ) -> Result<u64, $crate::StoreError> {
                events::events_prune(self, before, limit).await
            }

            async fn cursor(&self, name: &str) -> Result<Option<String>, $crate::StoreError> {
                inbox::cursor(self, name).await
            }

            async fn set_cursor(
                &self,
                name: &str,
                value: &str,
                now: jiff::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                inbox::set_cursor(self, name, value, now).await
            }

            async fn record_check(
                &self,
                check: &$crate::CheckRecord,
            ) -> Result<(), $crate::StoreError> {
                monitor::record_check(self, check).await
            }

            async fn checks(
                &self,
                job: Option<&str>,
                since: jiff::Timestamp,
                limit: u32,
            ) -> Result<Vec<$crate::CheckRecord>, $crate::StoreError> {
                monitor::checks(self, job, since, limit).await
            }

            async fn claim_slot(
                &self,
                job: &str,
                slot: i64,
                holder: &str,
                now: jiff::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                monitor::claim_slot(self, job, slot, holder, now).await
            }

            async fn slot_holders(
                &self,
                job: &str,
                since_slot: i64,
            ) -> Result<Vec<(i64, String)>, $crate::StoreError> {
                monitor::slot_holders(self, job, since_slot).await
            }

            async fn alert_observe(
                &self,
                alert: &$crate::AlertRecord,
            ) -> Result<$crate::AlertChange, $crate::StoreError> {
                monitor::alert_observe(self, alert).await
            }

            async fn alerts(
                &self,
                firing_only: bool,
                limit: u32,
            ) -> Result<Vec<$crate::AlertRecord>, $crate::StoreError> {
                monitor::alerts(self, firing_only, limit).await
            }

            async fn partial_scan_put(
                &self,
                scan: &$crate::PartialScan,
            ) -> Result<(), $crate::StoreError> {
                scans::partial_scan_put(self, scan).await
            }

            async fn partial_scan(
                &self,
            ) -> Result<Option<$crate::PartialScan>, $crate::StoreError> {
                scans::partial_scan(self).await
            }
        }
    };
}

pub(crate) use store_by_table_group;
