//! Keeping SQLite's full-text index current: the rows written since the
//! last batch are indexed inside the batch's own transaction. PostgreSQL
//! indexes with its own generated columns and needs nothing here.

use crate::db::{Conn, Dialect, args};
use crate::error::StoreError;

/// Indexes the tickets, messages and customers written since the last call
/// (SQLite only; the writer runs it at the end of every batch, inside the
/// batch's transaction, so whatever is committed is searchable).
pub(crate) const SQLITE_INDEX_NEW_ROWS: &str = "\
    INSERT INTO tickets_fts(rowid, subject) SELECT id, subject FROM tickets \
        WHERE id > (SELECT last_id FROM search_indexed WHERE name = 'tickets'); \
    UPDATE search_indexed SET last_id = (SELECT COALESCE(MAX(id), 0) FROM tickets) WHERE name = 'tickets'; \
    INSERT INTO messages_fts(rowid, text) SELECT id, text FROM messages \
        WHERE id > (SELECT last_id FROM search_indexed WHERE name = 'messages'); \
    UPDATE search_indexed SET last_id = (SELECT COALESCE(MAX(id), 0) FROM messages) WHERE name = 'messages'; \
    INSERT INTO customers_fts(rowid, name, addresses) SELECT c.id, c.name, \
        COALESCE((SELECT group_concat(i.value, ' ') FROM identities i WHERE i.customer_id = c.id), '') \
        FROM customers c WHERE c.id > (SELECT last_id FROM search_indexed WHERE name = 'customers'); \
    UPDATE search_indexed SET last_id = (SELECT COALESCE(MAX(id), 0) FROM customers) WHERE name = 'customers'";

/// Marks every row written so far as indexed without indexing it (SQLite;
/// nothing to do on PostgreSQL): for bulk rows nobody will search.
pub(crate) async fn skip_indexing(conn: &mut Conn<'_>) -> Result<(), StoreError> {
    if conn.dialect() != Dialect::Sqlite {
        return Ok(());
    }
    for table in ["tickets", "messages", "customers"] {
        let sql =
            format!("UPDATE search_indexed SET last_id = (SELECT COALESCE(MAX(id), 0) FROM {table}) WHERE name = $1");
        conn.execute(sqlx::AssertSqlSafe(sql), args![table]).await?;
    }
    Ok(())
}
