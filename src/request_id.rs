//! The id of the request being served, visible to every layer below the outermost middleware
//! (`request_context`), which sets it: problems carry it as `instance`, audit events as
//! `request_id`.

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` as the request `id`.
pub async fn scope<F: std::future::Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The current request's id as a URN, for the `instance` member of a problem.
pub fn instance() -> String {
    REQUEST_ID.try_with(|id| format!("urn:request:{id}")).unwrap_or_else(|_| "urn:request:none".to_owned())
}

/// The current request's id, if called while serving one.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
