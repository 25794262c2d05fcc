//! Many rows read as one. On SQLite every row a query returns is handed from
//! the connection's thread to the async side on its own, and for passes that
//! read hundreds of thousands of short rows that hand-off costs more than
//! the work. So these passes ask the database to pack a slice of rows, in
//! ticket id order, into one text, and unpack it here.
//!
//! A packed row is its numbers, then the byte length of each text, each
//! followed by a comma, then the texts one after the other:
//! `17,9,5,open apr` is ticket 17, event 9, the texts `open ` and `apr`.

use crate::db::Dialect;

/// The query packing the rows of `inner` (a `SELECT` of `ticket_id` and the
/// named columns, in ticket id order). Its row has `last` (the greatest
/// `ticket_id`, `NULL` when there are none) and `packed` (`NULL` when none).
pub(crate) fn select(dialect: Dialect, numbers: &[&str], texts: &[&str], inner: &str) -> String {
    let aggregate = dialect.concatenate_rows();
    let mut fields: Vec<String> = numbers.iter().map(|column| format!("{column} || ','")).collect();
    fields.extend(texts.iter().map(|column| format!("octet_length({column}) || ','")));
    fields.extend(texts.iter().map(|column| (*column).to_owned()));
    format!(
        "SELECT MAX(ticket_id) AS last, {aggregate}({}, '' ORDER BY ticket_id) AS packed FROM ({inner}) AS slice",
        fields.join(" || ")
    )
}

/// The row [`select`] returns.
#[derive(sqlx::FromRow)]
pub(crate) struct PackedRow {
    pub(crate) last: Option<i64>,
    pub(crate) packed: Option<String>,
}

/// One unpacked row: its numbers and its texts.
pub(crate) type Unpacked<'a, const N: usize, const T: usize> = ([i64; N], [&'a str; T]);

/// The rows packed in `text`: each row's `N` numbers and `T` texts, or what
/// is wrong at which byte.
pub(crate) fn unpack<const N: usize, const T: usize>(text: &str) -> Result<Vec<Unpacked<'_, N, T>>, String> {
    let mut rows = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let at = text.len() - rest.len();
        let bad = |what: &str| format!("packed rows at byte {at}: {what}");
        let mut number = || -> Result<i64, String> {
            let (digits, tail) = rest.split_once(',').ok_or_else(|| bad("a number has no comma after it"))?;
            rest = tail;
            digits.parse().map_err(|_| bad(&format!("{digits:?} is not a number")))
        };
        let mut numbers = [0; N];
        for slot in &mut numbers {
            *slot = number()?;
        }
        let mut lengths = [0; T];
        for slot in &mut lengths {
            *slot = usize::try_from(number()?).map_err(|_| bad("a length is negative"))?;
        }
        let mut texts = [""; T];
        for (slot, length) in texts.iter_mut().zip(lengths) {
            *slot = rest.get(..length).ok_or_else(|| bad("a text is cut short"))?;
            rest = &rest[length..];
        }
        rows.push((numbers, texts));
    }
    Ok(rows)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_packed_whatever_the_texts_hold() {
        let texts = ["open,1 é", "", "a,b,,", "%41 :-"];
        let mut packed = String::new();
        for (n, text) in texts.iter().enumerate() {
            packed.push_str(&format!("{n},{},{},{},x{text}", -(n as i64), text.len() + 1, text.len()));
            packed.push_str(text);
        }
        let rows = unpack::<2, 2>(&packed).unwrap();
        assert_eq!(rows.len(), 4);
        for (n, ([id, event], [first, second])) in rows.into_iter().enumerate() {
            assert_eq!((id, event), (n as i64, -(n as i64)));
            assert_eq!((first, second), (format!("x{}", texts[n]).as_str(), texts[n]));
        }
        assert!(unpack::<1, 1>("").unwrap().is_empty());
    }

    #[test]
    fn a_damaged_pack_names_the_byte_and_the_fault() {
        assert_eq!(unpack::<1, 1>("7,3,ab").unwrap_err(), "packed rows at byte 0: a text is cut short");
        assert_eq!(unpack::<1, 1>("7,2,ab8,x,").unwrap_err(), "packed rows at byte 6: \"x\" is not a number");
        assert_eq!(unpack::<1, 1>("7,-1,").unwrap_err(), "packed rows at byte 0: a length is negative");
        assert_eq!(unpack::<2, 0>("7").unwrap_err(), "packed rows at byte 0: a number has no comma after it");
    }

    #[test]
    fn the_query_packs_numbers_then_lengths_then_texts() {
        let sql = select(Dialect::Sqlite, &["ticket_id"], &["card"], "SELECT ticket_id, card FROM ticket_sla");
        assert_eq!(
            sql,
            "SELECT MAX(ticket_id) AS last, group_concat(ticket_id || ',' || octet_length(card) || ',' || card, '' \
             ORDER BY ticket_id) AS packed FROM (SELECT ticket_id, card FROM ticket_sla) AS slice"
        );
        assert!(select(Dialect::Postgres, &["ticket_id"], &[], "x").contains("string_agg(ticket_id || ','"));
    }
}
