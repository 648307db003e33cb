//! A list page's order (`sort` and `dir` in its query string) and its sortable
//! column headers: the resource lists of issue #14 (instances, clouds, resolvers,
//! devices, subnets). A header is a link — it works without JavaScript; htmx swaps
//! the page's main in place — that keeps the list's filters and starts again at page
//! 1; the filter form carries the order in hidden fields, so filtering keeps it.
//! A `sort` or `dir` the list does not take is not an error: the list shows in its
//! default order with a notice saying what was ignored.

use crate::domain::sorting::{Order, SortDir, SortKey};

/// The order a list page shows, and what of the asked order it could not take.
#[derive(Clone, Debug)]
pub struct PageOrder<K> {
    pub order: Order<K>,
    default: Order<K>,
    /// What was ignored (`sort` or `dir` the list does not take), said above it.
    pub notice: Option<String>,
}

/// A sortable column's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortHeader {
    pub label: &'static str,
    /// The list sorted by this column — the other way round when it is the current
    /// one —, with the same filters, from page 1.
    pub href: String,
    /// `aria-sort` of the current column (`ascending`, `descending`); empty else.
    pub aria: &'static str,
    /// " ↑" or " ↓" after the current column's label.
    pub arrow: &'static str,
}

impl<K: SortKey> PageOrder<K> {
    /// The order `sort` and `dir` ask for (empty: the default, ascending, as a GET
    /// form sends them), or the default where they name none of the list's.
    pub fn read(sort: &str, dir: &str, default: K) -> Self {
        let default = Order::by(default);
        let mut ignored = Vec::new();
        let key = match sort.trim() {
            "" => default.key,
            raw => K::parse(raw).map(Some).unwrap_or_else(|| {
                ignored.push(format!(
                    "“{raw}” is not a column this list sorts by ({})",
                    K::listed()
                ));
                default.key
            }),
        };
        let descending = match dir.trim() {
            "" => false,
            raw => SortDir::parse(raw).map_or_else(
                || {
                    ignored.push(format!("“{raw}” is not a direction (“asc” or “desc”)"));
                    false
                },
                |d| d == SortDir::Desc,
            ),
        };
        let order = Order { key, descending };
        let notice = (!ignored.is_empty()).then(|| {
            format!(
                "{}: the list is sorted by {} {} instead.",
                ignored.join("; "),
                order.key.map_or("id", |k| k.label()).to_lowercase(),
                if descending {
                    "descending"
                } else {
                    "ascending"
                }
            )
        });
        PageOrder {
            order,
            default,
            notice,
        }
    }

    /// The query parameters the list's links and filter form carry for this order:
    /// none for the default one.
    pub fn pairs(&self) -> Vec<(&'static str, &'static str)> {
        if self.order == self.default {
            Vec::new()
        } else {
            vec![("sort", self.order.key_name()), ("dir", self.order.dir())]
        }
    }

    /// The header of the column `name` (a key of the list; another gives the
    /// default's); `href` makes the list's link from the filters and these
    /// parameters (from page 1).
    pub fn header(&self, name: &str, href: impl Fn(&[(&str, &str)]) -> String) -> SortHeader {
        let Some(key) = K::parse(name).or(self.default.key) else {
            return SortHeader {
                label: "",
                href: href(&[]),
                aria: "",
                arrow: "",
            };
        };
        let current = self.order.key == Some(key);
        let desc = current && !self.order.descending;
        let dir = if desc { "desc" } else { "asc" };
        let (aria, arrow) = match (current, self.order.descending) {
            (false, _) => ("", ""),
            (true, false) => ("ascending", " ↑"),
            (true, true) => ("descending", " ↓"),
        };
        SortHeader {
            label: key.label(),
            href: href(&[("sort", key.name()), ("dir", dir)]),
            aria,
            arrow,
        }
    }
}

/// A list page sorted by its columns: its links, from the two things each page
/// knows (its order, and its link with its filters).
pub trait SortedList {
    type Key: SortKey;

    fn order(&self) -> &PageOrder<Self::Key>;

    /// The list with its filters and `more` parameters.
    fn href(&self, more: &[(&str, &str)]) -> String;

    /// The list's page `page` (`components/_pagination.html`), same filters and
    /// order.
    fn page_href(&self, page: i64) -> String {
        let page = page.to_string();
        let mut more: Vec<(&str, &str)> = self.order().pairs();
        more.push(("page", &page));
        self.href(&more)
    }

    /// The header of the column sorted by `key` (`components/_sort_th.html`).
    fn th(&self, key: &str) -> SortHeader {
        self.order().header(key, |more| self.href(more))
    }
}

/// `base` with the query string of `pairs`, empty values left out.
pub fn list_href(base: &str, pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .copied()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if kept.is_empty() {
        return base.to_string();
    }
    format!(
        "{base}?{}",
        serde_urlencoded::to_string(kept).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sorting::InstanceSort;

    fn href(pairs: &[(&str, &str)]) -> String {
        let mut all = vec![("status", "running")];
        all.extend_from_slice(pairs);
        list_href("/l", &all)
    }

    #[test]
    fn headers_sort_by_their_column_and_turn_the_current_one_round() {
        let o = PageOrder::<InstanceSort>::read("", "", InstanceSort::Created);
        assert_eq!(o.notice, None);
        assert!(o.pairs().is_empty());
        let name = o.header("name", href);
        assert_eq!(name.href, "/l?status=running&sort=name&dir=asc");
        assert_eq!((name.aria, name.arrow), ("", ""));
        let created = o.header("created", href);
        assert_eq!(created.href, "/l?status=running&sort=created&dir=desc");
        assert_eq!((created.aria, created.arrow), ("ascending", " ↑"));

        let o = PageOrder::<InstanceSort>::read("storage", "desc", InstanceSort::Created);
        assert_eq!(o.pairs(), [("sort", "storage"), ("dir", "desc")]);
        let storage = o.header("storage", href);
        assert_eq!(storage.href, "/l?status=running&sort=storage&dir=asc");
        assert_eq!(storage.aria, "descending");
    }

    #[test]
    fn what_the_list_does_not_take_is_ignored_and_said() {
        let o = PageOrder::<InstanceSort>::read("colour", "sideways", InstanceSort::Name);
        assert_eq!(o.order, Order::by(InstanceSort::Name));
        assert_eq!(
            o.notice.as_deref(),
            Some(
                "“colour” is not a column this list sorts by (“name”, “storage”, “memory”, \
                 “status”, “created”); “sideways” is not a direction (“asc” or “desc”): the \
                 list is sorted by name ascending instead."
            )
        );
        assert!(o.pairs().is_empty());
    }
}
