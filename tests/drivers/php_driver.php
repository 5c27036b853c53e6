<?php
// Driver conformance checks for PHP's mysqlnd, through PDO_MYSQL (argv[1] = "pdo") or mysqli
// (argv[1] = "mysqli"). Contract (environment, one "<check>: ok|FAIL|skip" line per check on
// stdout, exit 0): see tests/drivers/run.sh. Both APIs sit behind the small Api interface below,
// so each check is written once.
//
// Server-side prepared statements: PDO with ATTR_EMULATE_PREPARES=false (COM_STMT_PREPARE /
// COM_STMT_EXECUTE), mysqli_prepare (always server-side). Multi-statements: PDO with
// MYSQL_ATTR_MULTI_STATEMENTS (CLIENT_MULTI_STATEMENTS at login); mysqli::multi_query, which
// switches the option on and off with COM_SET_OPTION.
//
// With DRV_TLS_CA set only the TLS checks run (tls_login, tls_rows), on one connection that
// requires TLS and verifies the server's certificate against that CA: PDO with
// MYSQL_ATTR_SSL_CA and MYSQL_ATTR_SSL_VERIFY_SERVER_CERT, mysqli with ssl_set(),
// MYSQLI_OPT_SSL_VERIFY_SERVER_CERT and the MYSQLI_CLIENT_SSL flag.

declare(strict_types=1);

ini_set('memory_limit', '512M');           // the 5 MB BLOB is held several times over
ini_set('mysqlnd.net_read_timeout', '10'); // read timeout for PDO (mysqli also sets its own)
ini_set('display_errors', 'stderr');
const TIMEOUT_S = 10;

final class Skip extends Exception {}
final class CheckFailed extends Exception {}

function env(string $name): string
{
    $v = getenv($name);
    if ($v === false) {
        fwrite(STDERR, "missing environment variable $name\n");
        exit(2);
    }
    return $v;
}

function expect(mixed $got, mixed $want, string $what): void
{
    if ($got !== $want) {
        $show = fn($v) => strlen($s = var_export($v, true)) > 60 ? substr($s, 0, 60) . '...' : $s;
        throw new CheckFailed("$what: got {$show($got)}, want {$show($want)}");
    }
}

/** Runs $action, which must fail with MySQL error $errno. */
function expectError(Api $api, int $errno, Closure $action): void
{
    try {
        $action();
    } catch (Throwable $e) {
        expect($api->errno($e), $errno, 'error number (' . $e->getMessage() . ')');
        return;
    }
    throw new CheckFailed("succeeded, want error $errno");
}

/** The operations the checks need; rows come back as lists of numeric arrays. */
interface Api
{
    public function connect(string $user, string $password, string $db): object;
    /** A connection that requires TLS and verifies the server's certificate against $ca. */
    public function connectTls(string $user, string $password, string $db, string $ca): object;
    /** The MySQL error number carried by a driver exception, or null. */
    public function errno(Throwable $e): ?int;
    public function exec(object $c, string $sql): void;
    public function rows(object $c, string $sql): array;
    /** Prepares $sql server-side; returns fn(array $params): array $rows. */
    public function prepare(object $c, string $sql): Closure;
    /** Executes a prepared one-parameter statement with a binary string bound as a BLOB. */
    public function execBlob(object $c, string $sql, string $blob): void;
    public function begin(object $c): void;
    public function rollback(object $c): void;
    /** Every result set of a multi-statement query, each as its rows. */
    public function multi(object $c, string $sql): array;
    /** Unbuffered read: calls $each(row) for every row. */
    public function stream(object $c, string $sql, Closure $each): void;
    public function selectDb(object $c, string $db): void;
    public function changeUser(object $c, string $user, string $password, string $db): void;
    public function close(object $c): void;
}

final class PdoApi implements Api
{
    public function connect(string $user, string $password, string $db, array $options = []): object
    {
        $dsn = sprintf('mysql:host=%s;port=%s;dbname=%s;charset=utf8mb4', env('DRV_HOST'), env('DRV_PORT'), $db);
        return new PDO($dsn, $user, $password, $options + [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_TIMEOUT => TIMEOUT_S,
            PDO::ATTR_EMULATE_PREPARES => false,
            PDO::MYSQL_ATTR_MULTI_STATEMENTS => true,
        ]);
    }

    public function connectTls(string $user, string $password, string $db, string $ca): object
    {
        return $this->connect($user, $password, $db, [
            PDO::MYSQL_ATTR_SSL_CA => $ca,
            PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT => true,
        ]);
    }

    public function errno(Throwable $e): ?int
    {
        if (!$e instanceof PDOException) {
            return null;
        }
        // Statement errors carry errorInfo [SQLSTATE, errno, message]; connect errors the
        // errno as the exception code.
        return isset($e->errorInfo[1]) ? (int)$e->errorInfo[1] : (is_int($e->getCode()) ? $e->getCode() : null);
    }

    public function exec(object $c, string $sql): void
    {
        $c->exec($sql);
    }

    public function rows(object $c, string $sql): array
    {
        return $c->query($sql)->fetchAll(PDO::FETCH_NUM);
    }

    public function prepare(object $c, string $sql): Closure
    {
        $st = $c->prepare($sql);
        return function (array $params) use ($st): array {
            foreach (array_values($params) as $i => $v) {
                $st->bindValue($i + 1, $v, is_int($v) ? PDO::PARAM_INT : PDO::PARAM_STR);
            }
            $st->execute();
            $rows = $st->columnCount() > 0 ? $st->fetchAll(PDO::FETCH_NUM) : [];
            $st->closeCursor();
            return $rows;
        };
    }

    public function execBlob(object $c, string $sql, string $blob): void
    {
        $st = $c->prepare($sql);
        $st->bindValue(1, $blob, PDO::PARAM_LOB);
        $st->execute();
    }

    public function begin(object $c): void
    {
        $c->beginTransaction();
    }

    public function rollback(object $c): void
    {
        $c->rollBack();
    }

    public function multi(object $c, string $sql): array
    {
        // With native prepares PDO::query() prepares its statement, and a multi-statement
        // cannot be prepared: emulation makes it a COM_QUERY.
        $c->setAttribute(PDO::ATTR_EMULATE_PREPARES, true);
        try {
            $st = $c->query($sql);
            $sets = [];
            do {
                $sets[] = $st->fetchAll(PDO::FETCH_NUM);
            } while ($st->nextRowset());
            return $sets;
        } finally {
            $c->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
        }
    }

    public function stream(object $c, string $sql, Closure $each): void
    {
        $c->setAttribute(PDO::MYSQL_ATTR_USE_BUFFERED_QUERY, false);
        try {
            $st = $c->query($sql);
            while (($row = $st->fetch(PDO::FETCH_NUM)) !== false) {
                $each($row);
            }
        } finally {
            $c->setAttribute(PDO::MYSQL_ATTR_USE_BUFFERED_QUERY, true);
        }
    }

    public function selectDb(object $c, string $db): void
    {
        throw new Skip('PDO has no API to change the database (only the USE statement)');
    }

    public function changeUser(object $c, string $user, string $password, string $db): void
    {
        throw new Skip('PDO has no COM_CHANGE_USER API');
    }

    public function close(object $c): void
    {
        // PDO has no close(): dropping the last reference sends COM_QUIT.
    }
}

final class MysqliApi implements Api
{
    public function __construct()
    {
        mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
    }

    public function connect(string $user, string $password, string $db, ?string $ca = null): object
    {
        $c = mysqli_init();
        $c->options(MYSQLI_OPT_CONNECT_TIMEOUT, TIMEOUT_S);
        $c->options(MYSQLI_OPT_READ_TIMEOUT, TIMEOUT_S);
        $flags = 0;
        if ($ca !== null) {
            $c->ssl_set(null, null, $ca, null, null);
            $c->options(MYSQLI_OPT_SSL_VERIFY_SERVER_CERT, true);
            $flags = MYSQLI_CLIENT_SSL;
        }
        $c->real_connect(env('DRV_HOST'), $user, $password, $db, (int)env('DRV_PORT'), null, $flags);
        $c->set_charset('utf8mb4');
        return $c;
    }

    public function connectTls(string $user, string $password, string $db, string $ca): object
    {
        return $this->connect($user, $password, $db, $ca);
    }

    public function errno(Throwable $e): ?int
    {
        return $e instanceof mysqli_sql_exception ? $e->getCode() : null;
    }

    public function exec(object $c, string $sql): void
    {
        $c->query($sql);
    }

    public function rows(object $c, string $sql): array
    {
        return $c->query($sql)->fetch_all(MYSQLI_NUM);
    }

    public function prepare(object $c, string $sql): Closure
    {
        $st = $c->prepare($sql);
        return function (array $params) use ($st): array {
            if ($params) {
                $types = implode('', array_map(fn($v) => is_int($v) ? 'i' : 's', $params));
                $st->bind_param($types, ...array_values($params));
            }
            $st->execute();
            $res = $st->get_result();
            return $res === false ? [] : $res->fetch_all(MYSQLI_NUM);
        };
    }

    public function execBlob(object $c, string $sql, string $blob): void
    {
        // A 'b' parameter is sent with COM_STMT_SEND_LONG_DATA, here in 1 MiB pieces.
        $st = $c->prepare($sql);
        $null = null;
        $st->bind_param('b', $null);
        foreach (str_split($blob, 1 << 20) as $piece) {
            $st->send_long_data(0, $piece);
        }
        $st->execute();
        $st->close();
    }

    public function begin(object $c): void
    {
        $c->begin_transaction();
    }

    public function rollback(object $c): void
    {
        $c->rollback();
    }

    public function multi(object $c, string $sql): array
    {
        $c->multi_query($sql);
        $sets = [];
        do {
            $res = $c->store_result();
            $sets[] = $res === false ? [] : $res->fetch_all(MYSQLI_NUM);
        } while ($c->more_results() && $c->next_result());
        return $sets;
    }

    public function stream(object $c, string $sql, Closure $each): void
    {
        $res = $c->query($sql, MYSQLI_USE_RESULT);
        while (($row = $res->fetch_row()) !== null) {
            $each($row);
        }
        $res->free();
    }

    public function selectDb(object $c, string $db): void
    {
        $c->select_db($db);
    }

    public function changeUser(object $c, string $user, string $password, string $db): void
    {
        $c->change_user($user, $password, $db);
    }

    public function close(object $c): void
    {
        expect($c->close(), true, 'mysqli::close()');
    }
}

$apis = ['pdo' => PdoApi::class, 'mysqli' => MysqliApi::class];
$which = $argv[1] ?? '';
if (!isset($apis[$which])) {
    fwrite(STDERR, "usage: php php_driver.php pdo|mysqli\n");
    exit(2);
}
$api = new $apis[$which]();

[$user, $password, $db] = [env('DRV_USER'), env('DRV_PASSWORD'), env('DRV_DB')];
[$user2, $password2, $db2] = [env('DRV_USER2'), env('DRV_PASSWORD2'), env('DRV_DB2')];
$prefix = preg_replace('/[^A-Za-z0-9]/', '_', 'drv_' . env('DRV_NAME') . '_' . env('DRV_TARGET'));

$connect = fn() => $api->connect($user, $password, $db);
$scalar = fn(object $c, string $sql) => $api->rows($c, $sql)[0][0];

/** Runs one check: ok when $body returns, skip on Skip, FAIL on any other exception. */
function check(string $name, Closure $body): void
{
    try {
        $body();
        echo "$name: ok\n";
    } catch (Skip $e) {
        echo "$name: skip {$e->getMessage()}\n";
    } catch (Throwable $e) {
        $why = $e instanceof CheckFailed ? $e->getMessage() : get_class($e) . ': ' . $e->getMessage();
        echo "$name: FAIL " . substr(preg_replace('/\s+/', ' ', $why), 0, 300) . "\n";
        fwrite(STDERR, "$name: $e\n");
    } finally {
        gc_collect_cycles(); // connections of the check are closed before the next one
    }
}

$tlsCa = getenv('DRV_TLS_CA');
if ($tlsCa !== false && $tlsCa !== '') {
    $tls = null; // the TLS connection of both checks
    $connectTls = function () use ($api, $user, $password, $db, $tlsCa, &$tls): object {
        return $tls ??= $api->connectTls($user, $password, $db, $tlsCa);
    };
    check('tls_login', function () use ($connectTls, $scalar, $db) {
        expect($scalar($connectTls(), 'SELECT DATABASE()'), $db, 'DATABASE()');
    });
    check('tls_rows', function () use ($api, $connectTls) {
        $rows = $api->rows($connectTls(), "SELECT seq, REPEAT('x', 100) FROM seq_1_to_5000");
        expect([count($rows), array_sum(array_map(fn($r) => (int)$r[0], $rows))], [5000, 12502500],
            '[rows, sum of seq]');
    });
    exit(0);
}

check('login', function () use ($connect, $scalar, $db) {
    expect($scalar($connect(), 'SELECT DATABASE()'), $db, 'DATABASE()');
});

check('wrong_password', function () use ($api, $user, $password, $db) {
    expectError($api, 1045, fn() => $api->connect($user, $password . '_wrong', $db));
});

check('select1', function () use ($connect, $scalar) {
    expect((string)$scalar($connect(), 'SELECT 1'), '1', 'SELECT 1');
});

check('rows_1000', function () use ($api, $connect, $prefix) {
    $c = $connect();
    $t = "{$prefix}_rows";
    $api->exec($c, "DROP TABLE IF EXISTS $t");
    $api->exec($c, "CREATE TABLE $t (id INT PRIMARY KEY, v VARCHAR(64))");
    $value = fn(int $i) => "row-$i-" . md5((string)$i);
    // 10 executions of one prepared 100-row INSERT.
    $insert = $api->prepare($c, "INSERT INTO $t (id, v) VALUES " . implode(',', array_fill(0, 100, '(?, ?)')));
    for ($batch = 0; $batch < 10; $batch++) {
        $params = [];
        for ($i = $batch * 100 + 1; $i <= ($batch + 1) * 100; $i++) {
            array_push($params, $i, $value($i));
        }
        $insert($params);
    }
    $want = $got = '';
    for ($i = 1; $i <= 1000; $i++) {
        $want .= "$i=" . $value($i) . ';';
    }
    $rows = $api->rows($c, "SELECT id, v FROM $t ORDER BY id");
    expect(count($rows), 1000, 'rows read');
    foreach ($rows as [$id, $v]) {
        $got .= "$id=$v;";
    }
    expect(md5($got), md5($want), 'checksum of (id, v)');
    [$n, $sum] = $api->rows($c, "SELECT COUNT(*), SUM(id) FROM $t")[0];
    expect([(string)$n, (string)$sum], ['1000', '500500'], 'COUNT(*), SUM(id)');
    $api->exec($c, "DROP TABLE $t");
});

check('rollback', function () use ($api, $connect, $scalar, $prefix) {
    $c = $connect();
    $t = "{$prefix}_rollback";
    $api->exec($c, "DROP TABLE IF EXISTS $t");
    $api->exec($c, "CREATE TABLE $t (id INT PRIMARY KEY) ENGINE=InnoDB");
    $api->begin($c);
    $api->exec($c, "INSERT INTO $t VALUES (1)");
    expect((string)$scalar($c, "SELECT COUNT(*) FROM $t"), '1', 'rows inside the transaction');
    $api->rollback($c);
    expect((string)$scalar($c, "SELECT COUNT(*) FROM $t"), '0', 'rows after ROLLBACK');
    $api->exec($c, "DROP TABLE $t");
});

check('prepared_100', function () use ($api, $connect) {
    $c = $connect(); // held: a mysqli_stmt does not keep its connection open
    $select = $api->prepare($c, 'SELECT ? + 1');
    for ($i = 0; $i < 100; $i++) {
        expect((string)$select([$i])[0][0], (string)($i + 1), "SELECT $i + 1");
    }
});

check('blob_5mb', function () use ($api, $connect, $prefix) {
    $c = $connect();
    $t = "{$prefix}_blob";
    $blob = random_bytes(5 << 20);
    $api->exec($c, "DROP TABLE IF EXISTS $t");
    $api->exec($c, "CREATE TABLE $t (id INT PRIMARY KEY, b LONGBLOB)");
    $api->execBlob($c, "INSERT INTO $t (id, b) VALUES (1, ?)", $blob);
    [$len, $md5, $back] = $api->rows($c, "SELECT LENGTH(b), MD5(b), b FROM $t WHERE id = 1")[0];
    expect((string)$len, (string)strlen($blob), 'LENGTH(b) on the server');
    expect($md5, md5($blob), 'MD5(b) on the server');
    expect(strlen($back), strlen($blob), 'length read back');
    expect($back === $blob, true, 'BLOB read back identical');
    $api->exec($c, "DROP TABLE $t");
});

check('multi_statement', function () use ($api, $connect) {
    $sets = $api->multi($connect(), 'SELECT 1; SELECT 2');
    $flat = array_map(fn($rows) => array_map(fn($r) => array_map('strval', $r), $rows), $sets);
    expect($flat, [[['1']], [['2']]], 'result sets');
});

check('user_var', function () use ($api, $connect, $scalar) {
    $c = $connect();
    $api->exec($c, 'SET @v = 42');
    expect((string)$scalar($c, 'SELECT @v'), '42', '@v');
});

check('error_then_query', function () use ($api, $connect, $scalar) {
    $c = $connect();
    expectError($api, 1146, fn() => $api->rows($c, 'SELECT * FROM drv_no_such_table'));
    expect((string)$scalar($c, 'SELECT 1'), '1', 'SELECT 1 after the error');
});

check('result_20mb', function () use ($api, $connect) {
    $rows = $bytes = $seqSum = 0;
    $api->stream($connect(), "SELECT seq, REPEAT('x', 1000) FROM seq_1_to_20000",
        function (array $row) use (&$rows, &$bytes, &$seqSum) {
            $rows++;
            $seqSum += (int)$row[0];
            $bytes += strlen($row[1]);
        });
    expect([$rows, $bytes, $seqSum], [20000, 20000000, 200010000], '[rows, total length, sum of seq]');
});

check('use_db', function () use ($api, $connect, $scalar, $db2) {
    $c = $connect();
    $api->exec($c, "USE `$db2`");
    expect($scalar($c, 'SELECT DATABASE()'), $db2, 'DATABASE() after USE');
});

check('change_db', function () use ($api, $connect, $scalar, $db2) {
    $c = $connect();
    $api->selectDb($c, $db2);
    expect($scalar($c, 'SELECT DATABASE()'), $db2, 'DATABASE() after select_db');
});

check('change_user', function () use ($api, $connect, $scalar, $user2, $password2, $db) {
    $c = $connect();
    $api->changeUser($c, $user2, $password2, $db);
    $current = (string)$scalar($c, 'SELECT CURRENT_USER()');
    expect(str_starts_with($current, 'ringsql_test2@'), true, "CURRENT_USER() '$current' is ringsql_test2");
    expect($scalar($c, 'SELECT DATABASE()'), $db, 'DATABASE() after change_user');
});

check('close', function () use ($api, $connect, $scalar) {
    $c = $connect();
    expect((string)$scalar($c, 'SELECT 1'), '1', 'SELECT 1 before close');
    $api->close($c);
    unset($c);
    expect((string)$scalar($connect(), 'SELECT 1'), '1', 'SELECT 1 on a new connection');
});

exit(0);
