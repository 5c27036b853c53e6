/* What a statement's text says about the session state it may leave on its connection.
 *
 * Transaction pooling (pool.mode: transaction) hands a backend connection back between
 * transactions unless the session left state on it. The server reports most of it itself
 * (SERVER_SESSION_STATE_CHANGED with session_track_state_change): user variables set with
 * SET, temporary tables, PREPARE, session variables, USE, SET NAMES. It does not report what
 * this scanner looks for in the text: user variables assigned inside other statements
 * (SELECT @a := 1, SELECT ... INTO @a), named and table locks (GET_LOCK, LOCK TABLES),
 * values the next statement reads back (FOUND_ROWS, ROW_COUNT, LAST_INSERT_ID, LASTVAL; NEXTVAL,
 * SETVAL and NEXT VALUE FOR, whose value LASTVAL reads),
 * SET TRANSACTION (for the next transaction only) and HANDLER; nor what stored routines do
 * (CALL, and a call of a stored function: a name of `routines` followed by '(').
 *
 * It errs on the side of "yes": a false yes only keeps a session on its connection. Quoted
 * strings, quoted identifiers and comments are skipped; executable comments (slash-star-bang,
 * MariaDB's slash-star-M-bang) are read as code. */
#ifndef RINGSQL_PROTOCOL_QUERY_STATE_H
#define RINGSQL_PROTOCOL_QUERY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct name_set;

/* What one pass over a statement's text finds (proto_query_facts); the functions below ask
 * one question each. */
enum {
    PROTO_QF_LEAVES_STATE = 1 << 0,         /* proto_query_leaves_state */
    PROTO_QF_MAY_CHANGE_DB = 1 << 1,        /* proto_query_may_change_db */
    PROTO_QF_XA = 1 << 2,                   /* proto_query_mentions_xa */
    PROTO_QF_SETS_GLOBAL = 1 << 3,          /* proto_query_sets_global */
    PROTO_QF_NAMES_STATE_TRACKING = 1 << 4, /* proto_query_names_state_tracking */
    PROTO_QF_CONNECTION_ID = 1 << 5,        /* the word CONNECTION_ID (connection_id.h) */
    PROTO_QF_MAY_CHANGE_CHARSET = 1 << 6,   /* a SET of NAMES, CHARACTER SET or the
                                               character_set_* / collation_connection variables */
    /* Not a plain read (routing: split sends it to the primary): a statement that does not
     * begin with SELECT, SHOW, DESC(RIBE), EXPLAIN, WITH, VALUES, HELP or '(', one that names
     * UPDATE, INSERT, DELETE, REPLACE, INTO, SHARE or LOCK (FOR UPDATE, LOCK IN SHARE MODE,
     * SELECT ... INTO), or an empty text. */
    PROTO_QF_WRITES = 1 << 7,
    PROTO_QF_ALL = (1 << 8) - 1,
};
unsigned proto_query_facts(const uint8_t *sql, size_t len, const struct name_set *routines);

/* sql: a COM_QUERY's text (without the command byte); routines: the stored functions' names
 * (may be NULL). */
bool proto_query_leaves_state(const uint8_t *sql, size_t len, const struct name_set *routines);

/* Whether the statement may change the connection's current database (session pooling keeps
 * the database a connection is known to be in across its reset, and skips the COM_INIT_DB of
 * the next session that wants the same). Same lexer, same side of caution. */
bool proto_query_may_change_db(const uint8_t *sql, size_t len);

/* Whether the statement reads the diagnostics area (SHOW WARNINGS / ERRORS / COUNT(*) ...,
 * GET DIAGNOSTICS), which it leaves as it was: the previous statement's warnings and errors. */
bool proto_query_reads_diagnostics(const uint8_t *sql, size_t len);

/* Whether the statement may be an XA statement (the word XA anywhere). A connection that ran
 * one is closed, not reset, when its session ends: COM_RESET_CONNECTION on a connection with a
 * prepared XA transaction leaves the transaction's locks held by no one (MariaDB 10.11),
 * where a disconnect leaves it prepared for XA COMMIT / ROLLBACK from any connection. */
bool proto_query_mentions_xa(const uint8_t *sql, size_t len);

/* Whether the statement sets a global variable: a SET (in any statement of a multi-statement
 * text) with GLOBAL, or @@global.name. SHOW GLOBAL STATUS and reads of @@global.x are not. */
bool proto_query_sets_global(const uint8_t *sql, size_t len);

/* Whether the statement names session_track_state_change (as a word or @@[scope.]name): a
 * client that sets it wants the state-change entries transaction pooling otherwise drops. */
bool proto_query_names_state_tracking(const uint8_t *sql, size_t len);

/* Whether the statement mentions LAST_INSERT_ID (reads it, or sets it). */
bool proto_query_reads_insert_id(const uint8_t *sql, size_t len);

#endif
