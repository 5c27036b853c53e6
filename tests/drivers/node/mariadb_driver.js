// Driver conformance checks for the MariaDB Node.js connector (promise API), run by
// tests/drivers/run.sh; the checks themselves live in common.js. query() is the text protocol
// with client-side parameters, conn.prepare() + execute() a server-side prepared statement
// (COM_STMT_PREPARE, then COM_STMT_EXECUTE), changeUser() sends COM_CHANGE_USER (the
// connector allows it only when the server announces itself as MariaDB).
// TLS (connect with tlsCa): ssl {ca, rejectUnauthorized: true}, so TLS is required and the
// server's certificate verified against that CA (its name against the host too).
'use strict';
const mariadb = require('mariadb');
const fs = require('fs');
const { run } = require('./common');

const TIMEOUT_MS = 10000; // connect timeout, and socket (read) timeout

run({
    connect: ({ user, password, database, tlsCa }) => mariadb.createConnection({
        host: process.env.DRV_HOST, port: Number(process.env.DRV_PORT), user, password, database,
        connectTimeout: TIMEOUT_MS, socketTimeout: TIMEOUT_MS, multipleStatements: true, rowsAsArray: true,
        ...(tlsCa ? { ssl: { ca: fs.readFileSync(tlsCa), rejectUnauthorized: true } } : {}),
    }),
    query: (c, sql, params) => c.query(sql, params),
    multi: (c, sql) => c.query(sql),
    prepare: async (c, sql) => {
        const stmt = await c.prepare(sql);
        return { execute: (params) => stmt.execute(params), close: () => stmt.close() };
    },
    begin: (c) => c.beginTransaction(),
    rollback: (c) => c.rollback(),
    // changeUser() always sends the password it is given (none when left out), so the
    // change of database repeats the connection's own credentials.
    changeDb: (c, database) => c.changeUser({
        user: process.env.DRV_USER, password: process.env.DRV_PASSWORD, database,
    }),
    changeUser: (c, user, password) => c.changeUser({ user, password }),
    close: (c) => c.end(),
    destroy: (c) => c.destroy(),
});
