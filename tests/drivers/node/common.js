// Shared check runner of the Node.js driver conformance scripts (mysql2_driver.js,
// mariadb_driver.js), run by tests/drivers/run.sh. Each driver script passes an adapter that
// hides its API; this file holds the checks, their order and the output contract: one line
// per check on stdout ("<check>: ok" / "FAIL <why>" / "skip <why>"), details on stderr,
// exit status 0.
//
// With DRV_TLS_CA set only the TLS checks run (tls_login, tls_rows), on one connection that
// connect() opens with tlsCa: TLS required, the server's certificate verified against that CA.
//
// Adapter (every method async unless noted; rows are arrays of arrays):
//   connect({user, password, database, tlsCa})   a new connection (connect/read timeouts set);
//                                         with tlsCa TLS, verified against that CA file
//   query(conn, sql, params)              text protocol, client-side parameters -> rows
//   multi(conn, sql)                      multi-statement text query -> [rows, rows, ...]
//   prepare(conn, sql)                    server-side statement -> {execute(params) -> rows, close()}
//   begin(conn), rollback(conn)           the driver's transaction API
//   changeDb(conn, db), changeUser(conn, user, password)   null when the driver has none
//   close(conn)                           clean close; destroy(conn) (sync) for cleanup
'use strict';
const crypto = require('crypto');

const env = (name) => {
    const v = process.env[name];
    if (v === undefined) throw new Error(`${name} is not set (run through tests/drivers/run.sh)`);
    return v;
};
const E = {
    user: env('DRV_USER'), password: env('DRV_PASSWORD'), db: env('DRV_DB'),
    user2: env('DRV_USER2'), password2: env('DRV_PASSWORD2'), db2: env('DRV_DB2'),
    target: env('DRV_TARGET'), name: env('DRV_NAME'), tlsCa: process.env.DRV_TLS_CA || '',
};
const CHECK_TIMEOUT_MS = 20000;

class Skip extends Error {}
const skip = (why) => { throw new Skip(why); };
const assert = (cond, why) => { if (!cond) throw new Error(why); };
const eq = (got, want, what) =>
    assert(got === want, `${what}: got ${JSON.stringify(String(got))}, want ${JSON.stringify(String(want))}`);
// Drivers hand numbers back as number, BigInt or string depending on the column type.
const num = (v) => (v === null || v === undefined ? NaN : Number(v));
// A table name unique to this driver and target.
const table = (suffix) => `drv_${E.name}_${E.target}_${suffix}`.replace(/[^A-Za-z0-9_]/g, '_');
const errno = (e) => (e && (e.errno ?? e.code)) || 0;

async function expectError(promise, code, what) {
    try {
        await promise;
    } catch (e) {
        assert(e.errno === code, `${what}: want error ${code}, got ${errno(e)} ${e.message}`);
        return e;
    }
    throw new Error(`${what}: succeeded, want error ${code}`);
}

function checks(d) {
    const main = { user: E.user, password: E.password, database: E.db };
    const one = async (c, sql, params) => (await d.query(c, sql, params))[0][0];
    const fresh = async (c, name, cols) => {
        await d.query(c, `DROP TABLE IF EXISTS ${name}`);
        await d.query(c, `CREATE TABLE ${name} (${cols}) ENGINE=InnoDB`);
    };
    return {
        async login(ctx) {
            const c = await ctx.connect(main);
            eq(await one(c, 'SELECT DATABASE()'), E.db, 'DATABASE()');
        },
        async wrong_password(ctx) {
            const e = await expectError(ctx.connect({ ...main, password: E.password + '_wrong' }),
                1045, 'connect with a wrong password');
            eq(e.sqlState, '28000', 'SQL state');
        },
        async select1(ctx) {
            const c = await ctx.connect(main);
            eq(num(await one(c, 'SELECT 1')), 1, 'SELECT 1');
        },
        async rows_1000(ctx) {
            const c = await ctx.connect(main);
            const t = table('rows');
            await fresh(c, t, 'id INT PRIMARY KEY, v VARCHAR(64)');
            const value = (i) => `row-${i}-${(i * 7919) % 1000}`;
            const params = [];
            for (let i = 1; i <= 1000; i++) params.push(i, value(i));
            await d.query(c, `INSERT INTO ${t} (id, v) VALUES ${Array(1000).fill('(?, ?)').join(', ')}`, params);
            const rows = await d.query(c, `SELECT id, v FROM ${t} ORDER BY id`);
            eq(rows.length, 1000, 'rows read back');
            const digest = (vals) => crypto.createHash('sha1').update(vals.join('\n')).digest('hex');
            const want = Array.from({ length: 1000 }, (_, k) => `${k + 1}:${value(k + 1)}`);
            eq(digest(rows.map((r) => `${num(r[0])}:${r[1]}`)), digest(want), 'checksum of id:v');
            eq(num(await one(c, `SELECT COUNT(*) FROM ${t}`)), 1000, 'COUNT(*)');
            await d.query(c, `DROP TABLE ${t}`);
        },
        async rollback(ctx) {
            const c = await ctx.connect(main);
            const t = table('rollback');
            await fresh(c, t, 'id INT PRIMARY KEY');
            await d.begin(c);
            await d.query(c, `INSERT INTO ${t} (id) VALUES (?)`, [7]);
            eq(num(await one(c, `SELECT COUNT(*) FROM ${t}`)), 1, 'rows inside the transaction');
            await d.rollback(c);
            eq(num(await one(c, `SELECT COUNT(*) FROM ${t}`)), 0, 'rows after ROLLBACK');
            await d.query(c, `DROP TABLE ${t}`);
        },
        async prepared_100(ctx) {
            const c = await ctx.connect(main);
            // Directly against MariaDB the session counter proves the driver used
            // COM_STMT_EXECUTE; through a transaction pool the session may move between
            // backend connections, so only the results are checked there.
            const counter = async () => num((await d.query(c, "SHOW SESSION STATUS LIKE 'Com_stmt_execute'"))[0][1]);
            const before = E.target === 'direct' ? await counter() : 0;
            const stmt = await d.prepare(c, 'SELECT ? + 1');
            for (let i = 0; i < 100; i++) eq(num((await stmt.execute([i]))[0][0]), i + 1, `execution ${i}`);
            await stmt.close();
            if (E.target === 'direct') eq((await counter()) - before, 100, 'Com_stmt_execute delta');
        },
        async blob_5mb(ctx) {
            const c = await ctx.connect(main);
            const t = table('blob');
            await fresh(c, t, 'id INT PRIMARY KEY, b LONGBLOB');
            const blob = crypto.randomBytes(5 * 1024 * 1024);
            await d.query(c, `INSERT INTO ${t} (id, b) VALUES (?, ?)`, [1, blob]);
            const [[len, back]] = await d.query(c, `SELECT LENGTH(b), b FROM ${t} WHERE id = 1`);
            eq(num(len), blob.length, 'LENGTH(b)');
            assert(Buffer.isBuffer(back) && back.equals(blob), 'blob read back differs');
            await d.query(c, `DROP TABLE ${t}`);
        },
        async multi_statement(ctx) {
            const c = await ctx.connect(main);
            const sets = await d.multi(c, 'SELECT 1; SELECT 2');
            eq(sets.length, 2, 'result sets');
            eq(num(sets[0][0][0]), 1, 'first result');
            eq(num(sets[1][0][0]), 2, 'second result');
        },
        async user_var(ctx) {
            const c = await ctx.connect(main);
            await d.query(c, 'SET @v = 42');
            eq(num(await one(c, 'SELECT @v')), 42, '@v');
        },
        async error_then_query(ctx) {
            const c = await ctx.connect(main);
            await expectError(d.query(c, 'SELECT * FROM drv_no_such_table'), 1146, 'SELECT from a missing table');
            eq(num(await one(c, 'SELECT 1')), 1, 'SELECT 1 after the error');
        },
        async result_20mb(ctx) {
            const c = await ctx.connect(main);
            const rows = await d.query(c, "SELECT seq, REPEAT('x', 1000) FROM seq_1_to_20000");
            eq(rows.length, 20000, 'rows');
            let total = 0;
            let seqSum = 0;
            for (const r of rows) { seqSum += num(r[0]); total += r[1].length; }
            eq(total, 20000 * 1000, 'total length');
            eq(seqSum, (20000 * 20001) / 2, 'sum of seq');
        },
        async use_db(ctx) {
            const c = await ctx.connect(main);
            await d.query(c, `USE \`${E.db2}\``);
            eq(await one(c, 'SELECT DATABASE()'), E.db2, 'DATABASE() after USE');
        },
        async change_db(ctx) {
            if (!d.changeDb) skip('the driver has no change-database API');
            const c = await ctx.connect(main);
            await d.changeDb(c, E.db2);
            eq(await one(c, 'SELECT DATABASE()'), E.db2, 'DATABASE() after the change');
        },
        async change_user(ctx) {
            if (!d.changeUser) skip('the driver has no COM_CHANGE_USER API');
            const c = await ctx.connect(main);
            await d.changeUser(c, E.user2, E.password2);
            const who = String(await one(c, 'SELECT CURRENT_USER()'));
            assert(who.startsWith('ringsql_test2@'), `CURRENT_USER() is ${who}, want ringsql_test2@...`);
        },
        async close(ctx) {
            const c = await ctx.connect(main);
            eq(num(await one(c, 'SELECT 1')), 1, 'SELECT 1 before close');
            await ctx.close(c);
            const c2 = await ctx.connect(main);
            eq(num(await one(c2, 'SELECT 1')), 1, 'SELECT 1 on a new connection');
            await ctx.close(c2);
        },
    };
}

// The checks of the TLS targets, both on one TLS connection (ctx.shared(), closed at the end).
function tlsChecks(d) {
    const one = async (c, sql) => (await d.query(c, sql))[0][0];
    return {
        async tls_login(ctx) {
            eq(await one(await ctx.shared(), 'SELECT DATABASE()'), E.db, 'DATABASE()');
        },
        async tls_rows(ctx) {
            const rows = await d.query(await ctx.shared(), "SELECT seq, REPEAT('x', 100) FROM seq_1_to_5000");
            eq(rows.length, 5000, 'rows');
            eq(rows.reduce((sum, r) => sum + num(r[0]), 0), 12502500, 'sum of seq');
        },
    };
}

// Runs one check with its own connections (destroyed afterwards) under a timeout.
async function runOne(d, name, fn, shared) {
    const open = new Set();
    const ctx = {
        async connect(opts) { const c = await d.connect(opts); open.add(c); return c; },
        async close(c) { open.delete(c); await d.close(c); },
        shared,
    };
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
    });
    let verdict = 'ok';
    try {
        await Promise.race([fn(ctx), timeout]);
    } catch (e) {
        if (e instanceof Skip) {
            verdict = `skip ${e.message}`;
        } else {
            verdict = `FAIL ${String(e.message || e).split('\n')[0].slice(0, 200)}`;
            console.error(`${name}:`, e);
        }
    } finally {
        clearTimeout(timer);
        for (const c of open) {
            try { d.destroy(c); } catch (e) { console.error(`${name}: destroy:`, e.message); }
        }
    }
    process.stdout.write(`${name}: ${verdict}\n`);
}

async function run(d) {
    // A connection that fails outside a pending call must not end the script.
    process.on('uncaughtException', (e) => console.error('uncaught:', e));
    process.on('unhandledRejection', (e) => console.error('unhandled rejection:', e));
    let tls = null; // the TLS connection, opened by the first TLS check that gets it
    const shared = async () => {
        tls ??= d.connect({ user: E.user, password: E.password, database: E.db, tlsCa: E.tlsCa });
        try {
            return await tls;
        } catch (e) {
            tls = null; // the next check tries again
            throw e;
        }
    };
    for (const [name, fn] of Object.entries(E.tlsCa ? tlsChecks(d) : checks(d))) await runOne(d, name, fn, shared);
    if (tls) {
        try { d.destroy(await tls); } catch (e) { console.error('destroy:', e.message); }
    }
    process.exit(0);
}

module.exports = { run };
