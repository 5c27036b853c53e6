// Driver conformance checks for MariaDB Connector/J 2.7 (Debian's mariadb-java-client.jar),
// compiled and run by tests/drivers/run.sh. Prints one "<check>: ok|FAIL ...|skip ..." line
// per check; see the contract at the top of tests/drivers/run.sh.
//
// useServerPrepStmts=true makes PreparedStatement a SERVER-SIDE prepared statement
// (COM_STMT_PREPARE/EXECUTE; prepared_100 also asserts the driver's class for it);
// allowMultiQueries=true allows "SELECT 1; SELECT 2".
//
// With DRV_TLS_CA set only the TLS checks run (tls_login, tls_rows), on one connection with
// useSsl=true (TLS required) and serverSslCert=<the CA file>: Connector/J 2.7 has no sslMode
// (that is 3.x's verify-ca); in 2.7 serverSslCert makes that CA the only trusted one, and the
// host name is checked as well.
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;

public class DriverCheck {
    static final String HOST = System.getenv("DRV_HOST");
    static final String PORT = System.getenv("DRV_PORT");
    static final String USER = System.getenv("DRV_USER");
    static final String PASSWORD = System.getenv("DRV_PASSWORD");
    static final String DB = System.getenv("DRV_DB");
    static final String DB2 = System.getenv("DRV_DB2");
    static final String TLS_CA = System.getenv("DRV_TLS_CA");
    // drv_<driver>_<target>, non-alphanumerics replaced by '_'.
    static final String TABLE = ("drv_" + System.getenv("DRV_NAME") + "_" + System.getenv("DRV_TARGET"))
            .replaceAll("[^A-Za-z0-9]", "_");

    interface Check {
        void run() throws Exception;
    }

    /** A failed assertion: its message is the FAIL reason. */
    static class CheckFailed extends Exception {
        private static final long serialVersionUID = 1L;

        CheckFailed(String message) {
            super(message);
        }
    }

    static Connection connect(String user, String password, String extra) throws SQLException {
        String url = "jdbc:mariadb://" + HOST + ":" + PORT + "/" + DB
                + "?useServerPrepStmts=true&allowMultiQueries=true"
                + "&connectTimeout=10000&socketTimeout=10000" + extra;
        return DriverManager.getConnection(url, user, password);
    }

    static Connection connect(String user, String password) throws SQLException {
        return connect(user, password, "");
    }

    static Connection connect() throws SQLException {
        return connect(USER, PASSWORD);
    }

    static void expect(String what, Object got, Object want) throws CheckFailed {
        if (got == null ? want != null : !got.equals(want)) {
            throw new CheckFailed(what + " = " + got + ", want " + want);
        }
    }

    /** The single value of a one-row, one-column query. */
    static Object scalar(Connection c, String sql) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            if (!rs.next()) {
                throw new CheckFailed(sql + ": no row");
            }
            return rs.getObject(1);
        }
    }

    static long scalarLong(Connection c, String sql) throws Exception {
        Object v = scalar(c, sql);
        if (!(v instanceof Number)) {
            throw new CheckFailed(sql + " = " + v + ", not a number");
        }
        return ((Number) v).longValue();
    }

    static void recreate(Connection c, String table, String columns) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS " + table);
            st.execute("CREATE TABLE " + table + " (" + columns + ")");
        }
    }

    static void login() throws Exception {
        try (Connection c = connect()) {
            expect("DATABASE()", scalar(c, "SELECT DATABASE()"), DB);
        }
    }

    static void wrongPassword() throws Exception {
        try {
            connect(USER, PASSWORD + "-wrong").close();
            throw new CheckFailed("login with a wrong password succeeded");
        } catch (SQLException e) {
            if (e.getErrorCode() != 1045 && !"28000".equals(e.getSQLState())) {
                throw new CheckFailed("want error 1045 / 28000, got " + e.getErrorCode() + " / "
                        + e.getSQLState() + ": " + e.getMessage());
            }
        }
    }

    static void select1() throws Exception {
        try (Connection c = connect()) {
            expect("SELECT 1", scalarLong(c, "SELECT 1"), 1L);
        }
    }

    static void rows1000() throws Exception {
        final int n = 1000;
        String t = TABLE + "_rows";
        try (Connection c = connect()) {
            recreate(c, t, "id INT PRIMARY KEY, v VARCHAR(64)");
            // A batch of 1 000 executions of one prepared INSERT.
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + t + " (id, v) VALUES (?, ?)")) {
                for (int i = 1; i <= n; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "value-" + i);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            int count = 0;
            long idSum = 0;
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT id, v FROM " + t + " ORDER BY id")) {
                while (rs.next()) {
                    int id = rs.getInt(1);
                    expect("v of row " + id, rs.getString(2), "value-" + id);
                    count++;
                    idSum += id;
                }
            }
            expect("row count", count, n);
            expect("sum of ids", idSum, (long) n * (n + 1) / 2);
        }
    }

    static void rollback() throws Exception {
        String t = TABLE + "_rb";
        try (Connection c = connect()) {
            recreate(c, t, "id INT PRIMARY KEY");
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + t + " VALUES (?)")) {
                ps.setInt(1, 1);
                ps.executeUpdate();
            }
            long inside = scalarLong(c, "SELECT COUNT(*) FROM " + t);
            c.rollback();
            c.setAutoCommit(true);
            expect("rows inside the transaction", inside, 1L);
            expect("rows after rollback()", scalarLong(c, "SELECT COUNT(*) FROM " + t), 0L);
        }
    }

    static void prepared100() throws Exception {
        try (Connection c = connect(); PreparedStatement ps = c.prepareStatement("SELECT ? + 1")) {
            // Connector/J silently uses a client-side statement when it does not prepare on the server.
            String kind = ps.getClass().getSimpleName();
            if (!kind.startsWith("ServerSide")) {
                throw new CheckFailed("the driver made a " + kind + ", not a server-side statement");
            }
            for (long i = 0; i < 100; i++) {
                ps.setLong(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new CheckFailed("execution " + i + ": no row");
                    }
                    expect("SELECT " + i + " + 1", rs.getLong(1), i + 1);
                }
            }
        }
    }

    static void blob5mb() throws Exception {
        final int size = 5 * 1024 * 1024;
        String t = TABLE + "_blob";
        byte[] blob = new byte[size];
        new SecureRandom().nextBytes(blob);
        try (Connection c = connect()) {
            recreate(c, t, "id INT PRIMARY KEY, b LONGBLOB");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + t + " VALUES (?, ?)")) {
                ps.setInt(1, 1);
                ps.setBytes(2, blob);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT LENGTH(b), b FROM " + t + " WHERE id = ?")) {
                ps.setInt(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new CheckFailed("the blob row is missing");
                    }
                    expect("LENGTH(b)", rs.getLong(1), (long) size);
                    byte[] back = rs.getBytes(2);
                    if (!Arrays.equals(back, blob)) {
                        throw new CheckFailed("blob read back differs (" + (back == null ? "null" : back.length + " bytes") + ")");
                    }
                }
            }
        }
    }

    static void multiStatement() throws Exception {
        try (Connection c = connect(); Statement st = c.createStatement()) {
            if (!st.execute("SELECT 1; SELECT 2")) {
                throw new CheckFailed("the first result is not a result set");
            }
            for (long want = 1; want <= 2; want++) {
                if (want == 2 && !st.getMoreResults()) {
                    throw new CheckFailed("no second result set");
                }
                try (ResultSet rs = st.getResultSet()) {
                    if (!rs.next()) {
                        throw new CheckFailed("result set " + want + " is empty");
                    }
                    expect("result set " + want, rs.getLong(1), want);
                }
            }
            if (st.getMoreResults() || st.getUpdateCount() != -1) {
                throw new CheckFailed("more results after the second one");
            }
        }
    }

    static void userVar() throws Exception {
        try (Connection c = connect()) {
            try (Statement st = c.createStatement()) {
                st.execute("SET @v = 42");
            }
            expect("@v", scalarLong(c, "SELECT @v"), 42L);
        }
    }

    static void errorThenQuery() throws Exception {
        try (Connection c = connect()) {
            try {
                scalar(c, "SELECT * FROM no_such_table");
                throw new CheckFailed("SELECT from a missing table succeeded");
            } catch (SQLException e) {
                expect("error code", e.getErrorCode(), 1146);
            }
            expect("SELECT 1 after the error", scalarLong(c, "SELECT 1"), 1L);
        }
    }

    static void result20mb() throws Exception {
        try (Connection c = connect();
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT seq, REPEAT('x', 1000) FROM seq_1_to_20000")) {
            long count = 0, total = 0, seqSum = 0;
            while (rs.next()) {
                seqSum += rs.getLong(1);
                total += rs.getString(2).length();
                count++;
            }
            expect("rows", count, 20000L);
            expect("sum of seq", seqSum, 20000L * 20001 / 2);
            expect("total length", total, 20000L * 1000);
        }
    }

    static void useDb() throws Exception {
        try (Connection c = connect()) {
            try (Statement st = c.createStatement()) {
                st.execute("USE " + DB2);
            }
            expect("DATABASE()", scalar(c, "SELECT DATABASE()"), DB2);
        }
    }

    static void changeDb() throws Exception {
        try (Connection c = connect()) {
            c.setCatalog(DB2); // COM_INIT_DB
            expect("DATABASE()", scalar(c, "SELECT DATABASE()"), DB2);
            expect("getCatalog()", c.getCatalog(), DB2);
        }
    }

    static void close() throws Exception {
        Connection c = connect();
        expect("SELECT 1", scalarLong(c, "SELECT 1"), 1L);
        c.close(); // COM_QUIT
        expect("isClosed() after close()", c.isClosed(), true);
        try (Connection again = connect()) {
            expect("SELECT 1 on a new connection", scalarLong(again, "SELECT 1"), 1L);
        }
    }

    /**
     * Statement.cancel() from another thread: Connector/J opens a connection and sends KILL
     * QUERY with the thread id of the handshake (through ringsql: its session id). The long
     * query ends at once, and the connection goes on.
     */
    static void cancel() throws Exception {
        try (Connection c = connect(); Statement st = c.createStatement()) {
            Thread canceller = new Thread(() -> {
                try {
                    Thread.sleep(500); // the query is running by then; a cancel before is a no-op
                    st.cancel();
                } catch (Exception e) {
                    // the query then runs its 10 s and the check fails on its duration
                }
            });
            long t0 = System.nanoTime();
            canceller.start();
            Object got;
            try (ResultSet rs = st.executeQuery("SELECT SLEEP(10)")) {
                got = rs.next() ? rs.getObject(1) : null; // SLEEP says 1 when interrupted
            } catch (SQLException e) {
                got = "ERR " + e.getErrorCode(); // 1317 for other statements
            }
            canceller.join();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            if (ms > 5000) {
                throw new CheckFailed("the cancelled query ran " + ms + " ms (got " + got + ")");
            }
            expect("SELECT 1 after the cancel", scalarLong(c, "SELECT 1"), 1L);
        }
    }

    /** The connection of the TLS checks, opened by the first of them. */
    static Connection tls;

    static Connection tlsConnection() throws SQLException {
        if (tls == null) {
            tls = connect(USER, PASSWORD, "&useSsl=true&serverSslCert=" + TLS_CA);
        }
        return tls;
    }

    static void tlsLogin() throws Exception {
        expect("DATABASE()", scalar(tlsConnection(), "SELECT DATABASE()"), DB);
    }

    static void tlsRows() throws Exception {
        try (Statement st = tlsConnection().createStatement();
                ResultSet rs = st.executeQuery("SELECT seq, REPEAT('x', 100) FROM seq_1_to_5000")) {
            long count = 0, seqSum = 0;
            while (rs.next()) {
                seqSum += rs.getLong(1);
                count++;
            }
            expect("rows", count, 5000L);
            expect("sum of seq", seqSum, 12502500L);
        }
    }

    static void run(String name, Check check) {
        String verdict;
        try {
            check.run();
            verdict = "ok";
        } catch (CheckFailed e) {
            verdict = "FAIL " + e.getMessage();
        } catch (Exception e) {
            e.printStackTrace();
            verdict = "FAIL " + e;
        }
        verdict = verdict.replaceAll("\\s+", " ");
        System.out.println(name + ": " + (verdict.length() > 300 ? verdict.substring(0, 300) + "..." : verdict));
    }

    static void skip(String name, String why) {
        System.out.println(name + ": skip " + why);
    }

    public static void main(String[] args) {
        DriverManager.setLoginTimeout(10);
        if (TLS_CA != null && !TLS_CA.isEmpty()) {
            run("tls_login", DriverCheck::tlsLogin);
            run("tls_rows", DriverCheck::tlsRows);
            System.out.flush();
            return;
        }
        run("login", DriverCheck::login);
        run("wrong_password", DriverCheck::wrongPassword);
        run("select1", DriverCheck::select1);
        run("rows_1000", DriverCheck::rows1000);
        run("rollback", DriverCheck::rollback);
        run("prepared_100", DriverCheck::prepared100);
        run("blob_5mb", DriverCheck::blob5mb);
        run("multi_statement", DriverCheck::multiStatement);
        run("user_var", DriverCheck::userVar);
        run("error_then_query", DriverCheck::errorThenQuery);
        run("result_20mb", DriverCheck::result20mb);
        run("use_db", DriverCheck::useDb);
        run("change_db", DriverCheck::changeDb);
        skip("change_user", "JDBC has no COM_CHANGE_USER API");
        run("cancel", DriverCheck::cancel);
        run("close", DriverCheck::close);
        System.out.flush();
    }
}
