//! The store as a node plugin: opens the archive chosen by `--store-message-db-url`, archives
//! what the relay accepts, serves store v3 queries and `GET /store/v3/messages`, runs the
//! retention policy, and closes the database cleanly on shutdown.

use std::{sync::Arc, time::Duration};

use actix::Actor;
use rwaku_actors::NodeContext;
use rwaku_core::{HealthState, Plugin, PluginError};

use crate::{
    AnyStore, MessageStore, RetentionPolicy, archiver::StoreArchiver, parse_db_url,
    query_server::StoreQueryServer, rest,
};

pub const NAME: &str = "store";

/// How often the retention policy runs.
const RETENTION_INTERVAL: Duration = Duration::from_secs(600);

#[derive(Default)]
pub struct StorePlugin;

use rwaku_core::time::now_ns;

impl Plugin<NodeContext> for StorePlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, ctx: &mut NodeContext) -> Result<(), PluginError> {
        let url = ctx.config.store_db_url();
        let mut backend = parse_db_url(&url).map_err(|e| {
            PluginError::new(
                NAME,
                format!("invalid value for `store-message-db-url`: {e}"),
            )
        })?;
        let policy: RetentionPolicy =
            ctx.config
                .store_message_retention_policy
                .parse()
                .map_err(|e| {
                    PluginError::new(
                        NAME,
                        format!("invalid value for `store-message-retention-policy`: {e}"),
                    )
                })?;
        if let crate::BackendConfig::Postgres(pg) = &mut backend {
            // nwaku's flag is a ceiling; below it the pool keeps its measured size.
            let ceiling = ctx.config.store_max_num_db_connections.max(1) as usize;
            pg.pool_size = pg.pool_size.min(ceiling);
        }
        if let crate::BackendConfig::Sqlite(sqlite) = &backend
            && let Some(parent) = sqlite.path.parent()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                PluginError::new(NAME, format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        ctx.health
            .set_protocol("Store", HealthState::Initializing, None);
        let health = ctx.health.clone();
        let network = ctx.network.clone();
        let bus = ctx.bus.subscribe_accepted();
        let rate_limit = ctx.config.rate_limit_for_any(&["storev3", "store"]);
        let critical = ctx.critical_failures();
        let shared: SharedStore = Arc::new(tokio::sync::OnceCell::new());
        rest::add_routes(ctx, shared.clone());
        let closing = shared.clone();
        ctx.on_shutdown(NAME, move || async move {
            if let Some(store) = closing.get() {
                match store.close().await {
                    Ok(()) => tracing::info!("store closed"),
                    Err(e) => tracing::warn!(error = %e, "store did not close cleanly"),
                }
            }
        });
        actix::spawn(async move {
            let store = match AnyStore::open(backend).await {
                Ok(store) => Arc::new(store),
                Err(e) => {
                    health.set_protocol("Store", HealthState::NotReady, Some(e.to_string()));
                    critical.report("store", format!("cannot open the message store: {e}"));
                    return;
                }
            };
            if let Err(e) = store.ready().await {
                health.set_protocol("Store", HealthState::NotReady, Some(e.to_string()));
                critical.report("store", format!("message store not usable: {e}"));
                return;
            }
            StoreArchiver::new(store.clone(), bus).start();
            StoreQueryServer::new(store.clone(), network)
                .with_rate_limit(rate_limit)
                .start();
            let _ = shared.set(store.clone());
            health.set_protocol("Store", HealthState::Ready, None);
            tracing::info!("store ready");
            let mut tick = tokio::time::interval(RETENTION_INTERVAL);
            loop {
                tick.tick().await;
                match store.apply_retention(policy, now_ns()).await {
                    Ok(outcome) => tracing::debug!(?outcome, "retention run"),
                    Err(crate::StoreError::Closed) => break,
                    Err(e) => tracing::warn!(error = %e, "retention run failed"),
                }
            }
        });
        Ok(())
    }
}

/// The store once it is open, for handlers registered before it is.
pub type SharedStore = Arc<tokio::sync::OnceCell<Arc<AnyStore>>>;
