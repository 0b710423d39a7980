//! [`ApiConnector`]: what every API client built on this crate shares, over the session it
//! holds ([`ConnectorSession`]: the async [`Session`], or with the `blocking` feature the
//! blocking one).
//!
//! # Why one trait with an associated type
//!
//! A blocking connector could have had a twin trait (`BlockingApiConnector`) and a twin derive.
//! But what a connector adds to its session is the same for both: one place for the type's
//! default settings (`default_retry_settings`, written by `#[retry(...)]`), and the same seed
//! methods over them (`new_session`, `get_retry_settings`, `set_retry_settings`). So there is
//! one trait, generic over the session it holds through [`ApiConnector::Session`], and one
//! derive that reads that type off the session field. The sessions themselves differ only in
//! how a call is awaited, which is the session's business, not the connector's.

use crate::{Result, RetrySettings, RetrySettingsPatch, Session, SettingsError};

/// An API client that owns a retrying session: the port of the Python `APIConnector`.
///
/// Implement it with `#[derive(Connector)]`, which writes [`Session`](ApiConnector::Session),
/// [`session`](ApiConnector::session) and, from `#[retry(...)]`,
/// [`default_retry_settings`](ApiConnector::default_retry_settings). The other methods come
/// with the trait.
///
/// # Examples
///
/// ```
/// use api_toolkit::{ApiConnector, Connector, RetrySettings, Session};
///
/// #[derive(Connector)]
/// #[retry(max_retries = 3, status_forcelist = [500, 503])]
/// struct Shop {
///     session: Session,
/// }
///
/// let shop = Shop { session: Shop::new_session()? };
/// assert_eq!(shop.get_retry_settings().max_retries, 3);
/// shop.set_retry_settings(RetrySettings { max_retries: 0, ..shop.get_retry_settings() })?;
/// assert_eq!(shop.get_retry_settings().status_forcelist, [500, 503]);
/// # Ok::<(), api_toolkit::Error>(())
/// ```
///
/// By hand, the session's type is named once:
///
/// ```
/// use api_toolkit::{ApiConnector, RetrySettings, Session};
///
/// struct Shop {
///     session: Session,
/// }
///
/// impl ApiConnector for Shop {
///     type Session = Session;
///
///     fn session(&self) -> &Session {
///         &self.session
///     }
///
///     fn default_retry_settings() -> RetrySettings {
///         RetrySettings { max_retries: 2, ..RetrySettings::default() }
///     }
/// }
///
/// let shop = Shop { session: Shop::new_session()? };
/// assert_eq!(shop.get_retry_settings().max_retries, 2);
/// # Ok::<(), api_toolkit::Error>(())
/// ```
pub trait ApiConnector {
    /// The session requests are sent through: [`Session`], or with the `blocking` feature
    /// `api_toolkit::blocking::Session`.
    type Session: ConnectorSession;

    /// The session requests are sent through.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{ApiConnector, Connector, Session};
    ///
    /// #[derive(Connector)]
    /// #[retry(max_retries = 3, status_forcelist = [503])]
    /// struct Shop {
    ///     session: Session,
    /// }
    ///
    /// impl Shop {
    ///     fn order(&self, id: u64) -> api_toolkit::RequestBuilder {
    ///         self.session().get(format!("http://127.0.0.1:8080/orders/{id}"))
    ///     }
    /// }
    /// let shop = Shop { session: Shop::new_session()? };
    /// assert_eq!(shop.order(7).build()?.url().path(), "/orders/7");
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    fn session(&self) -> &Self::Session;

    /// This type's default settings: [`RetrySettings::default`] unless overridden (the derive
    /// overrides the keys given in `#[retry(...)]`).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{ApiConnector, Connector, RetrySettings, Session};
    ///
    /// #[derive(Connector)]
    /// #[retry(max_retries = 3, status_forcelist = [503])]
    /// struct Shop {
    ///     session: Session,
    /// }
    ///
    /// let defaults = Shop::default_retry_settings();
    /// assert_eq!((defaults.max_retries, defaults.backoff_factor), (3, RetrySettings::default().backoff_factor));
    /// ```
    fn default_retry_settings() -> RetrySettings
    where
        Self: Sized,
    {
        RetrySettings::default()
    }

    /// A new session with this type's default settings.
    ///
    /// # Errors
    ///
    /// See [`Session::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{ApiConnector, Connector, Session};
    ///
    /// #[derive(Connector)]
    /// #[retry(max_retries = 3, status_forcelist = [503])]
    /// struct Shop {
    ///     session: Session,
    /// }
    ///
    /// impl Shop {
    ///     fn new() -> api_toolkit::Result<Self> {
    ///         Ok(Shop { session: Self::new_session()? })
    ///     }
    /// }
    /// assert_eq!(Shop::new()?.get_retry_settings(), Shop::default_retry_settings());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    fn new_session() -> Result<Self::Session>
    where
        Self: Sized,
    {
        Self::Session::with_retry_settings(Self::default_retry_settings())
    }

    /// A builder for this type's session, preloaded with its default settings: add default
    /// headers, auth, a client or a service, then `build()`. The settings can still be
    /// replaced on the builder.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{reqwest::header, ApiConnector, Connector, Session};
    ///
    /// #[derive(Connector)]
    /// #[retry(max_retries = 3)]
    /// struct Shop {
    ///     session: Session,
    /// }
    ///
    /// let mut headers = header::HeaderMap::new();
    /// headers.insert(header::AUTHORIZATION, header::HeaderValue::from_static("Bearer t0ken"));
    /// let session = Shop::session_builder().default_headers(headers).build()?;
    /// let shop = Shop { session };
    /// assert_eq!(shop.get_retry_settings().max_retries, 3);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    fn session_builder() -> <Self::Session as ConnectorSession>::Builder
    where
        Self: Sized,
    {
        Self::Session::builder_with(Self::default_retry_settings())
    }

    /// Settings read from configuration laid over this type's defaults: a key missing from
    /// the file keeps the `#[retry(...)]` default, not [`RetrySettings::default`]'s.
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] naming the field and the value, when the patch makes invalid
    /// settings.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{ApiConnector, Connector, RetrySettingsPatch, Session};
    ///
    /// #[derive(Connector)]
    /// #[retry(max_retries = 3, status_forcelist = [503])]
    /// struct Shop {
    ///     session: Session,
    /// }
    ///
    /// let patch: RetrySettingsPatch = serde_json::from_str(r#"{"backoff_factor": 0.5, "total_timeout": "20s"}"#)?;
    /// let settings = Shop::retry_settings_from(patch)?;
    /// assert_eq!((settings.max_retries, settings.backoff_factor), (3, 0.5));
    /// assert_eq!(settings.status_forcelist, [503]);
    /// let shop = Shop { session: Shop::session_builder().retry_settings(settings).build()? };
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn retry_settings_from(
        patch: RetrySettingsPatch,
    ) -> std::result::Result<RetrySettings, SettingsError>
    where
        Self: Sized,
    {
        patch.apply_to(Self::default_retry_settings())
    }

    /// What this type's default settings do with a scripted sequence of outcomes, on a
    /// virtual clock: see [`RetrySettings::simulate`] (feature `test-util`).
    ///
    /// # Errors
    ///
    /// A [`ScriptError`](crate::simulate::ScriptError) for an impossible script.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::simulate::Step;
    /// use api_toolkit::{ApiConnector, Connector, Method, Session};
    ///
    /// #[derive(Connector)]
    /// #[retry(max_retries = 2, status_forcelist = [503], backoff_factor = 0.5)]
    /// struct Shop {
    ///     session: Session,
    /// }
    ///
    /// let simulation = Shop::simulate(Method::GET, [Step::status(503), Step::status(503), Step::status(200)])?;
    /// assert_eq!(simulation.record().attempt_count(), 3);
    /// assert_eq!(simulation.elapsed().as_secs_f64(), 0.75); // 0.25 s, then 0.5 s
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "test-util")]
    fn simulate(
        method: reqwest::Method,
        script: impl IntoIterator<Item = crate::simulate::Step>,
    ) -> std::result::Result<crate::simulate::Simulation, crate::simulate::ScriptError>
    where
        Self: Sized,
    {
        Self::default_retry_settings().simulate(method, script)
    }

    /// A copy of the settings in force: the type's defaults until replaced.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{ApiConnector, Connector, Session};
    ///
    /// #[derive(Connector)]
    /// #[retry(max_retries = 3, status_forcelist = [503])]
    /// struct Shop {
    ///     session: Session,
    /// }
    ///
    /// let shop = Shop { session: Shop::new_session()? };
    /// assert_eq!(shop.get_retry_settings().status_forcelist, [503]);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    fn get_retry_settings(&self) -> RetrySettings {
        self.session().retry_settings()
    }

    /// Replaces the settings (for every clone of the session, for calls started afterwards).
    ///
    /// # Errors
    ///
    /// See [`Session::set_retry_settings`]: on error the previous settings stay in force.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{ApiConnector, Connector, RetrySettings, Session};
    ///
    /// #[derive(Connector)]
    /// #[retry(max_retries = 3, status_forcelist = [503])]
    /// struct Shop {
    ///     session: Session,
    /// }
    ///
    /// let shop = Shop { session: Shop::new_session()? };
    /// // During an incident: stop retrying, keep the rest.
    /// shop.set_retry_settings(RetrySettings { max_retries: 0, ..shop.get_retry_settings() })?;
    /// assert!(shop.set_retry_settings(RetrySettings { backoff_factor: -1.0, ..RetrySettings::default() }).is_err());
    /// assert_eq!(shop.get_retry_settings().max_retries, 0);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    fn set_retry_settings(&self, settings: RetrySettings) -> Result<()> {
        self.session().set_retry_settings(settings)
    }

    /// A fleet over the Redis at `url`, named after the connector's type (`Shop`), to connect
    /// and give to the session's builder (feature `redis`): the workers running this connector
    /// share its hosts' state. See [`Fleet`](crate::Fleet).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use api_toolkit::{ApiConnector, Connector, Session};
    ///
    /// #[derive(Connector)]
    /// #[retry(share_retry_after = true)]
    /// struct Shop {
    ///     session: Session,
    /// }
    ///
    /// # async fn run() -> api_toolkit::Result<()> {
    /// let fleet = Shop::fleet("redis://127.0.0.1:6379/").connect().await?;
    /// assert_eq!(fleet.name(), "Shop");
    /// let shop = Shop { session: Shop::session_builder().fleet(&fleet).build()? };
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis")]
    fn fleet(url: &str) -> crate::FleetBuilder
    where
        Self: Sized,
    {
        let path = std::any::type_name::<Self>();
        let path = path.split('<').next().unwrap_or(path);
        crate::Fleet::redis(url).name(path.rsplit("::").next().unwrap_or(path))
    }
}

/// A session an [`ApiConnector`] can hold: [`Session`], and with the `blocking` feature
/// `api_toolkit::blocking::Session`. What the connector's seed methods need of it.
///
/// This trait is sealed: the sessions are this crate's.
///
/// # Examples
///
/// A connector over either session, async or blocking:
///
/// ```
/// use api_toolkit::{ApiConnector, Connector, ConnectorSession, Session};
///
/// #[derive(Connector)]
/// #[retry(max_retries = 2)]
/// struct Shop<S: ConnectorSession> {
///     session: S,
/// }
///
/// let shop: Shop<Session> = Shop { session: Shop::new_session()? };
/// assert_eq!(shop.session.retry_settings().max_retries, 2);
/// # Ok::<(), api_toolkit::Error>(())
/// ```
pub trait ConnectorSession: sealed::Sealed {
    /// The session's builder: [`SessionBuilder`](crate::SessionBuilder), or the blocking one.
    type Builder;

    /// A builder holding these settings ([`Session::builder`] then
    /// [`retry_settings`](crate::SessionBuilder::retry_settings)).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{ConnectorSession, RetrySettings, Session};
    ///
    /// let session = Session::builder_with(RetrySettings::idempotent()).user_agent("shop/1.0").build()?;
    /// assert!(session.retry_settings().keyed_retries);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    fn builder_with(settings: RetrySettings) -> Self::Builder
    where
        Self: Sized;

    /// A new session with these settings and a default client ([`Session::new`]).
    ///
    /// # Errors
    ///
    /// See [`Session::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{ConnectorSession, RetrySettings, Session};
    ///
    /// fn session_of<S: ConnectorSession>(max_retries: u32) -> api_toolkit::Result<S> {
    ///     S::with_retry_settings(RetrySettings { max_retries, ..RetrySettings::default() })
    /// }
    /// let session: Session = session_of(2)?;
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    fn with_retry_settings(settings: RetrySettings) -> Result<Self>
    where
        Self: Sized;

    /// A copy of the settings in force ([`Session::retry_settings`]).
    fn retry_settings(&self) -> RetrySettings;

    /// Replaces the settings for every clone of the session, for calls started afterwards
    /// ([`Session::set_retry_settings`]).
    ///
    /// # Errors
    ///
    /// An [`InvalidSettings`](crate::ErrorKind::InvalidSettings) error naming the field and the
    /// value; the previous settings then stay in force.
    fn set_retry_settings(&self, settings: RetrySettings) -> Result<()>;
}

impl ConnectorSession for Session {
    type Builder = crate::SessionBuilder;

    fn builder_with(settings: RetrySettings) -> crate::SessionBuilder {
        Session::builder().retry_settings(settings)
    }

    fn with_retry_settings(settings: RetrySettings) -> Result<Self> {
        Session::new(settings)
    }

    fn retry_settings(&self) -> RetrySettings {
        Session::retry_settings(self)
    }

    fn set_retry_settings(&self, settings: RetrySettings) -> Result<()> {
        Session::set_retry_settings(self, settings)
    }
}

#[cfg(feature = "blocking")]
impl ConnectorSession for crate::blocking::Session {
    type Builder = crate::blocking::SessionBuilder;

    fn builder_with(settings: RetrySettings) -> crate::blocking::SessionBuilder {
        crate::blocking::Session::builder().retry_settings(settings)
    }

    fn with_retry_settings(settings: RetrySettings) -> Result<Self> {
        crate::blocking::Session::new(settings)
    }

    fn retry_settings(&self) -> RetrySettings {
        crate::blocking::Session::retry_settings(self)
    }

    fn set_retry_settings(&self, settings: RetrySettings) -> Result<()> {
        crate::blocking::Session::set_retry_settings(self, settings)
    }
}

pub(crate) mod sealed {
    /// Keeps [`ConnectorSession`](super::ConnectorSession) to this crate's sessions.
    pub trait Sealed {}

    impl Sealed for crate::Session {}

    #[cfg(feature = "blocking")]
    impl Sealed for crate::blocking::Session {}
}
