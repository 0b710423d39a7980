//! A payments API on 127.0.0.1 that applies a POST once per `Idempotency-Key`, as Stripe does,
//! and counts the charges it applied: what a retried POST costs, seen from the server.
//!
//! Each POST gets the next [`Step`] of the script (the last one repeats), except a POST whose
//! key already has a stored result: that one gets the stored response again, with
//! `idempotent-replayed: true`, and charges nothing. A POST without a key is applied every
//! time it arrives. Other methods get `200 OK`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::{Received, Reply, TestServer};

/// What the API does with one POST that is not a replay.
#[derive(Clone, Debug)]
pub enum Step {
    /// Applies the charge, stores `201 Created` for its key and answers it.
    Charge,
    /// Applies the charge and stores `201 Created` for its key, but answers with this reply
    /// instead (a 500, a closed connection): the client does not learn that it was charged.
    ChargeThen(Reply),
    /// Applies nothing, stores nothing, and answers with this reply (a 409, a 500 before the
    /// charge started).
    Refuse(Reply),
}

/// The response a charge gets: `201` with the charge's number.
fn created(number: usize) -> Reply {
    Reply::status(201)
        .header("content-type", "application/json")
        .body(format!("{{\"id\":\"ch_{number}\"}}"))
}

/// A running payments API; stops when dropped.
pub struct Payments {
    /// The server, for what it received.
    pub server: TestServer,
    charges: Arc<AtomicUsize>,
}

impl Payments {
    /// Starts the API with this script of steps, one per POST that is not a replay.
    ///
    /// # Panics
    ///
    /// If `steps` is empty or no loopback port can be bound.
    pub async fn start(steps: Vec<Step>) -> Payments {
        assert!(!steps.is_empty(), "a script needs at least one step");
        let charges = Arc::new(AtomicUsize::new(0));
        let stored: Mutex<HashMap<String, Reply>> = Mutex::default();
        let posts = AtomicUsize::new(0);
        let counted = Arc::clone(&charges);
        let server = TestServer::handle(move |request: &Received, _| {
            if request.method != "POST" {
                return Reply::status(200);
            }
            let key = request.header("idempotency-key").map(str::to_owned);
            if let Some(reply) = key
                .as_ref()
                .and_then(|k| stored.lock().unwrap().get(k).cloned())
            {
                return reply.header("idempotent-replayed", "true");
            }
            let index = posts.fetch_add(1, Ordering::SeqCst).min(steps.len() - 1);
            let charge = || {
                let response = created(counted.fetch_add(1, Ordering::SeqCst) + 1);
                if let Some(key) = key.clone() {
                    stored.lock().unwrap().insert(key, response.clone());
                }
                response
            };
            match &steps[index] {
                Step::Charge => charge(),
                Step::ChargeThen(reply) => {
                    charge();
                    reply.clone()
                }
                Step::Refuse(reply) => reply.clone(),
            }
        })
        .await;
        Payments { server, charges }
    }

    /// How many charges the API applied.
    pub fn charges(&self) -> usize {
        self.charges.load(Ordering::SeqCst)
    }

    /// The URL of `path` on this API.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }
}
