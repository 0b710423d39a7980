use api_toolkit::{ApiConnector, Connector, Session};

#[derive(Connector)]
struct Mirror {
    #[session]
    primary: Session,
    #[session]
    secondary: Session,
}

fn main() {
    let mirror = Mirror {
        primary: Mirror::new_session().unwrap(),
        secondary: Mirror::new_session().unwrap(),
    };
    let _ = mirror.session();
}
