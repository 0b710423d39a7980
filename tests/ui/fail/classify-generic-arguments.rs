use api_toolkit::{ApiConnector, Attempt, Connector, Session, Verdict};

fn rules<const STOP: bool>(_: &Attempt<'_>) -> Verdict {
    if STOP {
        Verdict::Stop
    } else {
        Verdict::Defer
    }
}

#[derive(Connector)]
#[retry(classify = rules<true>)]
struct Shop {
    session: Session,
}

fn main() {
    let shop = Shop {
        session: Shop::new_session().unwrap(),
    };
    let _ = shop.session().get("http://127.0.0.1:9");
    let _ = rules::<false>;
}
