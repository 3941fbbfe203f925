//! Where plugins put their REST endpoints. Each plugin adds an axum `Router` while it starts;
//! the REST plugin, started last, merges them and serves the result.

use std::sync::{Arc, Mutex};

use axum::Router;

#[derive(Clone, Default)]
pub struct RestRoutes {
    routers: Arc<Mutex<Vec<Router>>>,
}

impl RestRoutes {
    pub fn add(&self, router: Router) {
        if let Ok(mut routers) = self.routers.lock() {
            routers.push(router);
        }
    }

    /// All routers added so far, merged into one.
    pub fn merged(&self) -> Router {
        let routers = self
            .routers
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        routers.into_iter().fold(Router::new(), Router::merge)
    }
}
