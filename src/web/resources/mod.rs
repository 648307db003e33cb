//! A tenant's resources in the console (issue #14): clouds
//! (`/tenants/{id}/clouds[/new|/{rid}]`) and instances
//! (`/tenants/{id}/instances[/new|/{rid}]`). Resources read to see them, Resources
//! full to change them (the services decide); shared clouds are read-only.

mod clouds;
mod instances;

use crate::web::routes::Route;

pub use crate::web::owned::Choice;

pub fn routes() -> Vec<Route> {
    [clouds::routes(), instances::routes()]
        .into_iter()
        .flatten()
        .collect()
}

/// The options of a select over a closed set of values: `(value, label)`.
fn value_choices<'a>(
    values: impl Iterator<Item = (&'a str, &'a str)>,
    chosen: &str,
    none: Option<&str>,
) -> Vec<Choice> {
    none.map(|none| Choice {
        value: String::new(),
        label: none.to_string(),
        selected: chosen.trim().is_empty(),
    })
    .into_iter()
    .chain(values.map(|(v, label)| Choice {
        value: v.to_string(),
        label: label.to_string(),
        selected: chosen.trim() == v,
    }))
    .collect()
}
