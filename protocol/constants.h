/* constants: the numbers of the MySQL/MariaDB client/server protocol that ringsql needs.
 *
 * Capabilities are held as one uint64_t everywhere: the low 32 bits are the classic
 * CLIENT_* flags, the high 32 bits are MariaDB's extended capabilities, which travel in
 * otherwise reserved bytes of the handshake (only when the peer does not set CLIENT_MYSQL). */
#pragma once

#include <stdint.h>

/* Framing. */
enum {
    PROTO_HEADER_LEN = 4,
    /* A physical packet carrying exactly this many payload bytes is continued by the next. */
    PROTO_MAX_PAYLOAD = 0xffffff,
    PROTO_SCRAMBLE_LEN = 20,
};

/* Capability flags (low 32 bits). CLIENT_MYSQL is MariaDB's name for bit 0, which MySQL
 * calls CLIENT_LONG_PASSWORD: a MariaDB server clears it to say "extended caps follow". */
#define PROTO_CLIENT_MYSQL UINT64_C(0x1)
#define PROTO_CLIENT_FOUND_ROWS UINT64_C(0x2)
#define PROTO_CLIENT_LONG_FLAG UINT64_C(0x4)
#define PROTO_CLIENT_CONNECT_WITH_DB UINT64_C(0x8)
#define PROTO_CLIENT_NO_SCHEMA UINT64_C(0x10)
#define PROTO_CLIENT_COMPRESS UINT64_C(0x20)
#define PROTO_CLIENT_ODBC UINT64_C(0x40)
#define PROTO_CLIENT_LOCAL_FILES UINT64_C(0x80)
#define PROTO_CLIENT_IGNORE_SPACE UINT64_C(0x100)
#define PROTO_CLIENT_PROTOCOL_41 UINT64_C(0x200)
#define PROTO_CLIENT_INTERACTIVE UINT64_C(0x400)
#define PROTO_CLIENT_SSL UINT64_C(0x800)
#define PROTO_CLIENT_IGNORE_SIGPIPE UINT64_C(0x1000)
#define PROTO_CLIENT_TRANSACTIONS UINT64_C(0x2000)
#define PROTO_CLIENT_RESERVED UINT64_C(0x4000)
#define PROTO_CLIENT_SECURE_CONNECTION UINT64_C(0x8000)
#define PROTO_CLIENT_MULTI_STATEMENTS (UINT64_C(1) << 16)
#define PROTO_CLIENT_MULTI_RESULTS (UINT64_C(1) << 17)
#define PROTO_CLIENT_PS_MULTI_RESULTS (UINT64_C(1) << 18)
#define PROTO_CLIENT_PLUGIN_AUTH (UINT64_C(1) << 19)
#define PROTO_CLIENT_CONNECT_ATTRS (UINT64_C(1) << 20)
#define PROTO_CLIENT_PLUGIN_AUTH_LENENC_DATA (UINT64_C(1) << 21)
#define PROTO_CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS (UINT64_C(1) << 22)
#define PROTO_CLIENT_SESSION_TRACK (UINT64_C(1) << 23)
#define PROTO_CLIENT_DEPRECATE_EOF (UINT64_C(1) << 24)
#define PROTO_CLIENT_OPTIONAL_RESULTSET_METADATA (UINT64_C(1) << 25)
#define PROTO_CLIENT_ZSTD_COMPRESSION (UINT64_C(1) << 26)
#define PROTO_CLIENT_QUERY_ATTRIBUTES (UINT64_C(1) << 27)
#define PROTO_CLIENT_PROGRESS_OBSOLETE (UINT64_C(1) << 29)
#define PROTO_CLIENT_SSL_VERIFY_SERVER_CERT (UINT64_C(1) << 30)
#define PROTO_CLIENT_REMEMBER_OPTIONS (UINT64_C(1) << 31)

/* MariaDB extended capabilities (high 32 bits). */
#define PROTO_MARIADB_CLIENT_PROGRESS (UINT64_C(1) << 32)
#define PROTO_MARIADB_CLIENT_COM_MULTI (UINT64_C(1) << 33)
#define PROTO_MARIADB_CLIENT_STMT_BULK_OPERATIONS (UINT64_C(1) << 34)
#define PROTO_MARIADB_CLIENT_EXTENDED_METADATA (UINT64_C(1) << 35)
#define PROTO_MARIADB_CLIENT_CACHE_METADATA (UINT64_C(1) << 36)
#define PROTO_MARIADB_CLIENT_BULK_UNIT_RESULTS (UINT64_C(1) << 37)

/* Server status flags (OK and EOF packets). */
enum {
    PROTO_SERVER_STATUS_IN_TRANS = 0x0001,
    PROTO_SERVER_STATUS_AUTOCOMMIT = 0x0002,
    PROTO_SERVER_MORE_RESULTS_EXISTS = 0x0008,
    PROTO_SERVER_QUERY_NO_GOOD_INDEX_USED = 0x0010,
    PROTO_SERVER_QUERY_NO_INDEX_USED = 0x0020,
    PROTO_SERVER_STATUS_CURSOR_EXISTS = 0x0040,
    PROTO_SERVER_STATUS_LAST_ROW_SENT = 0x0080,
    PROTO_SERVER_STATUS_DB_DROPPED = 0x0100,
    PROTO_SERVER_STATUS_NO_BACKSLASH_ESCAPES = 0x0200,
    PROTO_SERVER_STATUS_METADATA_CHANGED = 0x0400,
    PROTO_SERVER_QUERY_WAS_SLOW = 0x0800,
    PROTO_SERVER_PS_OUT_PARAMS = 0x1000,
    PROTO_SERVER_STATUS_IN_TRANS_READONLY = 0x2000,
    PROTO_SERVER_SESSION_STATE_CHANGED = 0x4000,
};

/* Command bytes (first byte of a client packet in the command phase). */
enum proto_command {
    PROTO_COM_SLEEP = 0x00,
    PROTO_COM_QUIT = 0x01,
    PROTO_COM_INIT_DB = 0x02,
    PROTO_COM_QUERY = 0x03,
    PROTO_COM_FIELD_LIST = 0x04,
    PROTO_COM_CREATE_DB = 0x05,
    PROTO_COM_DROP_DB = 0x06,
    PROTO_COM_REFRESH = 0x07,
    PROTO_COM_SHUTDOWN = 0x08,
    PROTO_COM_STATISTICS = 0x09,
    PROTO_COM_PROCESS_INFO = 0x0a,
    PROTO_COM_CONNECT = 0x0b,
    PROTO_COM_PROCESS_KILL = 0x0c,
    PROTO_COM_DEBUG = 0x0d,
    PROTO_COM_PING = 0x0e,
    PROTO_COM_TIME = 0x0f,
    PROTO_COM_DELAYED_INSERT = 0x10,
    PROTO_COM_CHANGE_USER = 0x11,
    PROTO_COM_BINLOG_DUMP = 0x12,
    PROTO_COM_TABLE_DUMP = 0x13,
    PROTO_COM_CONNECT_OUT = 0x14,
    PROTO_COM_REGISTER_SLAVE = 0x15,
    PROTO_COM_STMT_PREPARE = 0x16,
    PROTO_COM_STMT_EXECUTE = 0x17,
    PROTO_COM_STMT_SEND_LONG_DATA = 0x18,
    PROTO_COM_STMT_CLOSE = 0x19,
    PROTO_COM_STMT_RESET = 0x1a,
    PROTO_COM_SET_OPTION = 0x1b,
    PROTO_COM_STMT_FETCH = 0x1c,
    PROTO_COM_DAEMON = 0x1d,
    PROTO_COM_BINLOG_DUMP_GTID = 0x1e,
    PROTO_COM_RESET_CONNECTION = 0x1f,
    PROTO_COM_STMT_BULK_EXECUTE = 0xfa, /* MariaDB */
    PROTO_COM_MULTI = 0xfe,             /* MariaDB, removed; never forwarded */
};

/* COM_STMT_EXECUTE flags byte. */
enum {
    PROTO_CURSOR_TYPE_NO_CURSOR = 0x00,
    PROTO_CURSOR_TYPE_READ_ONLY = 0x01,
    PROTO_CURSOR_TYPE_FOR_UPDATE = 0x02,
    PROTO_CURSOR_TYPE_SCROLLABLE = 0x04,
};

/* First byte of a response packet. */
enum {
    PROTO_HDR_OK = 0x00,
    PROTO_HDR_AUTH_MORE_DATA = 0x01,
    PROTO_HDR_LOCAL_INFILE = 0xfb,
    PROTO_HDR_EOF = 0xfe, /* also AuthSwitchRequest, and OK in place of EOF with DEPRECATE_EOF */
    PROTO_HDR_ERR = 0xff,
};

/* caching_sha2_password AuthMoreData status bytes. */
enum {
    PROTO_CSHA2_REQUEST_PUBLIC_KEY = 0x02,
    PROTO_CSHA2_FAST_AUTH_SUCCESS = 0x03,
    PROTO_CSHA2_PERFORM_FULL_AUTH = 0x04,
};

/* Server error codes ringsql sends or recognises. */
enum {
    PROTO_ER_CON_COUNT_ERROR = 1040, /* Too many connections */
    PROTO_ER_HANDSHAKE_ERROR = 1043, /* Bad handshake */
    PROTO_ER_DBACCESS_DENIED = 1044,
    PROTO_ER_ACCESS_DENIED = 1045,
    PROTO_ER_NO_DB_ERROR = 1046,
    PROTO_ER_UNKNOWN_COM_ERROR = 1047,
    PROTO_ER_BAD_DB_ERROR = 1049,
    PROTO_ER_SERVER_SHUTDOWN = 1053,
    PROTO_ER_NO_SUCH_THREAD = 1094,   /* Unknown thread id: %lu */
    PROTO_ER_KILL_DENIED = 1095,      /* You are not owner of thread %lu */
    PROTO_ER_NET_PACKET_TOO_LARGE = 1153,
    PROTO_ER_NET_PACKETS_OUT_OF_ORDER = 1156,
    PROTO_ER_NET_READ_ERROR = 1158,
    PROTO_ER_QUERY_INTERRUPTED = 1317, /* Query execution was interrupted (70100) */
    PROTO_ER_NOT_SUPPORTED_AUTH_MODE = 1251,
    PROTO_ER_NOT_SUPPORTED_YET = 1235,
    PROTO_ER_UNKNOWN_ERROR = 1105,
    PROTO_ER_LOCK_WAIT_TIMEOUT = 1205,
    PROTO_ER_LOCK_DEADLOCK = 1213,
    PROTO_ER_MUST_CHANGE_PASSWORD = 1820, /* an expired password's sandbox */
    /* A backend ringsql cannot reach, or lost under a client. Not the client-library codes
     * 2003 / 2013 a direct client would see: libmariadb rejects an ERR packet carrying a
     * client-range code (2000-2999) as "Received malformed packet" (2027). */
    PROTO_ER_CONNECT_TO_FOREIGN_DATA_SOURCE = 1429, /* Unable to connect to foreign data source */
    PROTO_ER_CONNECTION_KILLED = 1927,              /* Connection was killed (SQL state 70100) */
    PROTO_ER_CLIENT_INTERACTION_TIMEOUT = 4031,     /* MySQL 8: disconnected for inactivity */
    /* MariaDB progress report: an ERR-shaped packet that is not an error. */
    PROTO_ER_PROGRESS_REPORT = 0xffff,
};

/* Default collation ringsql announces: utf8mb4_general_ci. */
enum { PROTO_CHARSET_UTF8MB4_GENERAL_CI = 45 };
