//! The README's "Testing your connector" example, as it is written there: a derived connector
//! against the crate's scripted server, under paused time.

use std::time::Duration;

use api_toolkit::test_util::{Reply, TestServer};
use api_toolkit::{ApiConnector, Connector, Session};

#[derive(Connector)]
#[retry(max_retries = 3, backoff_factor = 2, status_forcelist = [503], allowed_methods = ["GET"])]
struct Shop {
    session: Session,
    base: String,
}

impl Shop {
    async fn order(&self, id: u64) -> Result<String, Box<dyn std::error::Error>> {
        let url = format!("{}/orders/{id}", self.base);
        Ok(self.session().get(url).send().await?.text().await?)
    }
}

#[tokio::test(start_paused = true)]
async fn an_order_survives_a_restart_of_the_shop() {
    let server = TestServer::start(vec![
        Reply::status(503),
        Reply::status(503).header("retry-after", "30"),
        Reply::status(200).body(r#"{"id": 7}"#),
    ])
    .await;
    let shop = Shop {
        session: Shop::new_session().unwrap(),
        base: server.url(""),
    };

    let started = tokio::time::Instant::now();
    assert_eq!(shop.order(7).await.unwrap(), r#"{"id": 7}"#);
    assert_eq!(started.elapsed(), Duration::from_secs(31)); // 1 s of backoff, then 30 s asked
    assert_eq!(server.methods(), ["GET", "GET", "GET"]); // what the server received
}
