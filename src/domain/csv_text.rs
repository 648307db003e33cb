//! CSV as the console writes it, for downloads and mail attachments alike: RFC
//! 4180 lines (CRLF, quoted where needed), UTF-8, every cell spreadsheet-safe
//! (`activity::spreadsheet_safe`).

use super::activity::spreadsheet_safe;

/// `rows` as CSV lines, `header` first when given.
pub fn lines<T>(
    rows: &[T],
    header: Option<&[&str]>,
    cells: fn(&T) -> Vec<String>,
) -> anyhow::Result<Vec<u8>> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(rows.len() * 128));
    if let Some(header) = header {
        out.write_record(header)?;
    }
    for row in rows {
        out.write_record(cells(row).iter().map(|c| spreadsheet_safe(c).into_owned()))?;
    }
    out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}
