//! [`ApiConnector`]: what every API client built on this crate shares.

use crate::{Result, RetrySettings, Session};

/// An API client that owns a retrying [`Session`]: the port of the Python `APIConnector`.
///
/// Implement it with `#[derive(Connector)]`, which writes [`session`](ApiConnector::session)
/// and, from `#[retry(...)]`, [`default_retry_settings`](ApiConnector::default_retry_settings).
/// The other methods come with the trait.
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
pub trait ApiConnector {
    /// The session requests are sent through.
    fn session(&self) -> &Session;

    /// This type's default settings: [`RetrySettings::default`] unless overridden (the derive
    /// overrides the keys given in `#[retry(...)]`).
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
    fn new_session() -> Result<Session>
    where
        Self: Sized,
    {
        Session::new(Self::default_retry_settings())
    }

    /// A copy of the settings in force.
    fn get_retry_settings(&self) -> RetrySettings {
        self.session().retry_settings()
    }

    /// Replaces the settings (for every clone of the session, for calls started afterwards).
    ///
    /// # Errors
    ///
    /// See [`Session::set_retry_settings`]: on error the previous settings stay in force.
    fn set_retry_settings(&self, settings: RetrySettings) -> Result<()> {
        self.session().set_retry_settings(settings)
    }
}
