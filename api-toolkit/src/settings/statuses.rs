//! Status lists written with ranges: `statuses![429, 500..=599]`.

use std::ops::RangeInclusive;

/// One item of [`statuses!`](crate::statuses!): a status code or an inclusive range of them.
#[doc(hidden)]
pub trait StatusItem {
    /// Appends the item's statuses to `to`.
    fn push_to(self, to: &mut Vec<u16>);
}

impl StatusItem for u16 {
    fn push_to(self, to: &mut Vec<u16>) {
        to.push(self);
    }
}

impl StatusItem for RangeInclusive<u16> {
    fn push_to(self, to: &mut Vec<u16>) {
        to.extend(self);
    }
}

/// A status list from codes and inclusive ranges, sorted and without duplicates: the run-time
/// form of `#[retry(status_forcelist = [429, 500..=599])]`.
///
/// Statuses outside `100..=599` are kept, for [`RetrySettings::validate`](crate::RetrySettings::validate)
/// to report.
///
/// # Examples
///
/// ```
/// use api_toolkit::{statuses, RetrySettings};
///
/// let settings = RetrySettings { status_forcelist: statuses![503, 429, 500..=504], ..Default::default() };
/// assert_eq!(settings.status_forcelist, [429, 500, 501, 502, 503, 504]);
/// assert_eq!(statuses![500..=599].len(), 100);
/// ```
#[macro_export]
macro_rules! statuses {
    ($($item:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut list = ::std::vec::Vec::<u16>::new();
        $($crate::__private::StatusItem::push_to($item, &mut list);)*
        list.sort_unstable();
        list.dedup();
        list
    }};
}

/// Expands `"500..=599"` (or `"500-599"`), the serde form of a range; `None` if it is not one.
pub(super) fn parse_range(text: &str) -> Option<RangeInclusive<u16>> {
    let (low, high) = text.split_once("..=").or_else(|| text.split_once('-'))?;
    let (low, high) = (low.trim().parse().ok()?, high.trim().parse().ok()?);
    (low <= high).then_some(low..=high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_ranges_sorted_and_deduplicated() {
        assert_eq!(
            statuses![504, 500..=503, 502, 429],
            [429, 500, 501, 502, 503, 504]
        );
        assert_eq!(statuses![], Vec::<u16>::new());
        assert_eq!(statuses![404,], [404]);
    }

    #[test]
    fn range_text_parsed() {
        assert_eq!(parse_range("500..=599"), Some(500..=599));
        assert_eq!(parse_range(" 500 - 504 "), Some(500..=504));
        assert_eq!(parse_range("599..=500"), None);
        assert_eq!(parse_range("5xx"), None);
        assert_eq!(parse_range("500..599"), None);
    }
}
