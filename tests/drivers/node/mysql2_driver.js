// Driver conformance checks for mysql2 (promise API), run by tests/drivers/run.sh; the checks
// themselves live in common.js. query() is the text protocol with client-side parameters,
// execute() a server-side prepared statement (COM_STMT_PREPARE once, cached per connection,
// then COM_STMT_EXECUTE), changeUser() sends COM_CHANGE_USER.
// TLS (connect with tlsCa): ssl {ca, rejectUnauthorized: true}, so TLS is required and the
// server's certificate verified against that CA (its name against the host too).
'use strict';
const mysql = require('mysql2/promise');
const fs = require('fs');
const { run } = require('./common');

const TIMEOUT_MS = 10000; // connect timeout, and the per-command timeout mysql2 offers
const q = (sql) => ({ sql, timeout: TIMEOUT_MS });

run({
    connect: ({ user, password, database, tlsCa }) => mysql.createConnection({
        host: process.env.DRV_HOST, port: Number(process.env.DRV_PORT), user, password, database,
        connectTimeout: TIMEOUT_MS, multipleStatements: true, rowsAsArray: true,
        ...(tlsCa ? { ssl: { ca: fs.readFileSync(tlsCa), rejectUnauthorized: true } } : {}),
    }),
    query: async (c, sql, params) => (await c.query(q(sql), params))[0],
    multi: async (c, sql) => (await c.query(q(sql)))[0],
    prepare: async (c, sql) => ({
        execute: async (params) => (await c.execute(q(sql), params))[0],
        close: () => c.unprepare(sql),
    }),
    begin: (c) => c.beginTransaction(),
    rollback: (c) => c.rollback(),
    changeDb: (c, database) => c.changeUser({ database }),
    changeUser: (c, user, password) => c.changeUser({ user, password }),
    close: (c) => c.end(),
    destroy: (c) => c.destroy(),
});
