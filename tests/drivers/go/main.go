// Driver conformance checks for go-sql-driver/mysql (the Debian package, built with
// GO111MODULE=off by tests/drivers/run.sh). Prints one "<check>: ok|FAIL ...|skip ..." line
// per check; see the contract at the top of tests/drivers/run.sh.
//
// Parameters go through SERVER-SIDE prepared statements: the driver prepares every
// statement that has arguments (COM_STMT_PREPARE/EXECUTE) unless interpolateParams=true,
// which this DSN does not set. Checks whose state lives in the session pin one *sql.Conn.
//
// With DRV_TLS_CA set only the TLS checks run (tls_login, tls_rows), on one connection with
// tls=<a config registered with that CA as its only root>: TLS required (ErrNoTLS otherwise),
// the server's certificate verified against the CA and its name against the host.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

var (
	host   = os.Getenv("DRV_HOST")
	port   = os.Getenv("DRV_PORT")
	user   = os.Getenv("DRV_USER")
	pass   = os.Getenv("DRV_PASSWORD")
	dbName = os.Getenv("DRV_DB")
	db2    = os.Getenv("DRV_DB2")
	tlsCA  = os.Getenv("DRV_TLS_CA")
	// drv_<driver>_<target>, non-alphanumerics replaced by '_'.
	table = regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(
		"drv_"+os.Getenv("DRV_NAME")+"_"+os.Getenv("DRV_TARGET"), "_")
)

const checkTimeout = 25 * time.Second

// open returns a pool for user/password on dbName. multiStatements for multi_statement;
// maxAllowedPacket above the driver's 4 MiB default for the 5 MB blob; 10 s timeouts.
func open(u, p string) (*sql.DB, error) {
	return sql.Open("mysql", dsn(u, p))
}

func dsn(u, p string) string {
	return fmt.Sprintf("%s:%s@tcp(%s:%s)/%s?multiStatements=true&maxAllowedPacket=16777216"+
		"&timeout=10s&readTimeout=10s&writeTimeout=10s", u, p, host, port, dbName)
}

// withConn runs fn on one fresh connection (its own pool, closed afterwards).
func withConn(ctx context.Context, fn func(*sql.Conn) error) error {
	db, err := open(user, pass)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}

// queryInt runs a one-row, one-column query and returns the value.
func queryInt(ctx context.Context, c *sql.Conn, q string, args ...interface{}) (int64, error) {
	var v int64
	err := c.QueryRowContext(ctx, q, args...).Scan(&v)
	return v, err
}

func queryString(ctx context.Context, c *sql.Conn, q string) (string, error) {
	var v sql.NullString
	err := c.QueryRowContext(ctx, q).Scan(&v)
	return v.String, err
}

func expect(what string, got, want interface{}) error {
	if got != want {
		return fmt.Errorf("%s = %v, want %v", what, got, want)
	}
	return nil
}

// mysqlErrno is the server error number of err, or 0.
func mysqlErrno(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// recreate drops and creates table name with the given column definitions.
func recreate(ctx context.Context, c *sql.Conn, name, cols string) error {
	if _, err := c.ExecContext(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
		return err
	}
	_, err := c.ExecContext(ctx, "CREATE TABLE "+name+" ("+cols+")")
	return err
}

func checkLogin(ctx context.Context) error {
	return withConn(ctx, func(c *sql.Conn) error {
		got, err := queryString(ctx, c, "SELECT DATABASE()")
		if err != nil {
			return err
		}
		return expect("DATABASE()", got, dbName)
	})
}

func checkWrongPassword(ctx context.Context) error {
	db, err := open(user, pass+"-wrong")
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.PingContext(ctx)
	if err == nil {
		return errors.New("login with a wrong password succeeded")
	}
	if n := mysqlErrno(err); n != 1045 {
		return fmt.Errorf("want error 1045, got %v", err)
	}
	return nil
}

func checkSelect1(ctx context.Context) error {
	return withConn(ctx, func(c *sql.Conn) error {
		v, err := queryInt(ctx, c, "SELECT 1")
		if err != nil {
			return err
		}
		return expect("SELECT 1", v, int64(1))
	})
}

func checkRows1000(ctx context.Context) error {
	const n = 1000
	t := table + "_rows"
	return withConn(ctx, func(c *sql.Conn) error {
		if err := recreate(ctx, c, t, "id INT PRIMARY KEY, v VARCHAR(64)"); err != nil {
			return err
		}
		// One multi-row INSERT with 2 000 parameters (a prepared statement).
		args := make([]interface{}, 0, 2*n)
		for i := 1; i <= n; i++ {
			args = append(args, i, fmt.Sprintf("value-%d", i))
		}
		q := "INSERT INTO " + t + " (id, v) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?),", n), ",")
		res, err := c.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if got, _ := res.RowsAffected(); got != n {
			return fmt.Errorf("inserted %d rows, want %d", got, n)
		}
		rows, err := c.QueryContext(ctx, "SELECT id, v FROM "+t+" ORDER BY id")
		if err != nil {
			return err
		}
		defer rows.Close()
		count, idSum := 0, 0
		for rows.Next() {
			var id int
			var v string
			if err := rows.Scan(&id, &v); err != nil {
				return err
			}
			if want := fmt.Sprintf("value-%d", id); v != want {
				return fmt.Errorf("row %d: v = %q, want %q", id, v, want)
			}
			count++
			idSum += id
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := expect("row count", count, n); err != nil {
			return err
		}
		return expect("sum of ids", idSum, n*(n+1)/2)
	})
}

func checkRollback(ctx context.Context) error {
	t := table + "_rb"
	return withConn(ctx, func(c *sql.Conn) error {
		if err := recreate(ctx, c, t, "id INT PRIMARY KEY"); err != nil {
			return err
		}
		tx, err := c.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+t+" VALUES (?)", 1); err != nil {
			tx.Rollback()
			return err
		}
		var inside int64
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t).Scan(&inside); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Rollback(); err != nil {
			return err
		}
		if err := expect("rows inside the transaction", inside, int64(1)); err != nil {
			return err
		}
		after, err := queryInt(ctx, c, "SELECT COUNT(*) FROM "+t)
		if err != nil {
			return err
		}
		return expect("rows after ROLLBACK", after, int64(0))
	})
}

func checkPrepared100(ctx context.Context) error {
	return withConn(ctx, func(c *sql.Conn) error {
		stmt, err := c.PrepareContext(ctx, "SELECT ? + 1")
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := int64(0); i < 100; i++ {
			var v int64
			if err := stmt.QueryRowContext(ctx, i).Scan(&v); err != nil {
				return fmt.Errorf("execution %d: %w", i, err)
			}
			if err := expect(fmt.Sprintf("SELECT %d + 1", i), v, i+1); err != nil {
				return err
			}
		}
		return nil
	})
}

func checkBlob5MB(ctx context.Context) error {
	const size = 5 * 1024 * 1024
	t := table + "_blob"
	blob := make([]byte, size)
	if _, err := rand.Read(blob); err != nil {
		return err
	}
	return withConn(ctx, func(c *sql.Conn) error {
		if err := recreate(ctx, c, t, "id INT PRIMARY KEY, b LONGBLOB"); err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, "INSERT INTO "+t+" VALUES (?, ?)", 1, blob); err != nil {
			return err
		}
		var length int64
		var back []byte
		err := c.QueryRowContext(ctx, "SELECT LENGTH(b), b FROM "+t+" WHERE id = ?", 1).Scan(&length, &back)
		if err != nil {
			return err
		}
		if err := expect("LENGTH(b)", length, int64(size)); err != nil {
			return err
		}
		if !bytes.Equal(back, blob) {
			return fmt.Errorf("blob read back differs (%d bytes)", len(back))
		}
		return nil
	})
}

func checkMultiStatement(ctx context.Context) error {
	return withConn(ctx, func(c *sql.Conn) error {
		rows, err := c.QueryContext(ctx, "SELECT 1; SELECT 2")
		if err != nil {
			return err
		}
		defer rows.Close()
		for want := int64(1); want <= 2; want++ {
			if want == 2 && !rows.NextResultSet() {
				return fmt.Errorf("no second result set: %v", rows.Err())
			}
			if !rows.Next() {
				return fmt.Errorf("result set %d is empty: %v", want, rows.Err())
			}
			var v int64
			if err := rows.Scan(&v); err != nil {
				return err
			}
			if err := expect(fmt.Sprintf("result set %d", want), v, want); err != nil {
				return err
			}
		}
		if rows.NextResultSet() {
			return errors.New("a third result set")
		}
		return rows.Err()
	})
}

func checkUserVar(ctx context.Context) error {
	return withConn(ctx, func(c *sql.Conn) error {
		if _, err := c.ExecContext(ctx, "SET @v = 42"); err != nil {
			return err
		}
		v, err := queryInt(ctx, c, "SELECT @v")
		if err != nil {
			return err
		}
		return expect("@v", v, int64(42))
	})
}

func checkErrorThenQuery(ctx context.Context) error {
	return withConn(ctx, func(c *sql.Conn) error {
		_, err := queryInt(ctx, c, "SELECT * FROM no_such_table")
		if n := mysqlErrno(err); n != 1146 {
			return fmt.Errorf("want error 1146, got %v", err)
		}
		v, err := queryInt(ctx, c, "SELECT 1")
		if err != nil {
			return fmt.Errorf("SELECT 1 after the error: %w", err)
		}
		return expect("SELECT 1 after the error", v, int64(1))
	})
}

func checkResult20MB(ctx context.Context) error {
	return withConn(ctx, func(c *sql.Conn) error {
		rows, err := c.QueryContext(ctx, "SELECT seq, REPEAT('x', 1000) FROM seq_1_to_20000")
		if err != nil {
			return err
		}
		defer rows.Close()
		count, total, seqSum := 0, 0, 0
		var seq int
		var s sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&seq, &s); err != nil {
				return err
			}
			count++
			total += len(s)
			seqSum += seq
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := expect("rows", count, 20000); err != nil {
			return err
		}
		if err := expect("sum of seq", seqSum, 20000*20001/2); err != nil {
			return err
		}
		return expect("total length", total, 20000*1000)
	})
}

func checkUseDB(ctx context.Context) error {
	return withConn(ctx, func(c *sql.Conn) error {
		if _, err := c.ExecContext(ctx, "USE "+db2); err != nil {
			return err
		}
		got, err := queryString(ctx, c, "SELECT DATABASE()")
		if err != nil {
			return err
		}
		return expect("DATABASE()", got, db2)
	})
}

func checkClose(ctx context.Context) error {
	db, err := open(user, pass)
	if err != nil {
		return err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return err
	}
	// Closing the pool closes its idle connection (COM_QUIT).
	if err := db.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	if err := db.PingContext(ctx); err == nil {
		return errors.New("the closed pool still answers")
	}
	return withConn(ctx, func(c *sql.Conn) error {
		v, err := queryInt(ctx, c, "SELECT 1")
		if err != nil {
			return fmt.Errorf("new connection after close: %w", err)
		}
		return expect("SELECT 1 on a new connection", v, int64(1))
	})
}

// tlsConn is the connection of the TLS checks, opened by the first of them.
var tlsConn *sql.Conn

func tlsConnection(ctx context.Context) (*sql.Conn, error) {
	if tlsConn != nil {
		return tlsConn, nil
	}
	pem, err := os.ReadFile(tlsCA)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", tlsCA)
	}
	// No ServerName: the driver sets it to the host, so Go checks the name as well.
	if err := mysql.RegisterTLSConfig("drv-ca", &tls.Config{RootCAs: roots}); err != nil {
		return nil, err
	}
	db, err := sql.Open("mysql", dsn(user, pass)+"&tls=drv-ca")
	if err != nil {
		return nil, err
	}
	c, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	tlsConn = c
	return c, nil
}

func checkTLSLogin(ctx context.Context) error {
	c, err := tlsConnection(ctx)
	if err != nil {
		return err
	}
	got, err := queryString(ctx, c, "SELECT DATABASE()")
	if err != nil {
		return err
	}
	return expect("DATABASE()", got, dbName)
}

func checkTLSRows(ctx context.Context) error {
	c, err := tlsConnection(ctx)
	if err != nil {
		return err
	}
	rows, err := c.QueryContext(ctx, "SELECT seq, REPEAT('x', 100) FROM seq_1_to_5000")
	if err != nil {
		return err
	}
	defer rows.Close()
	count, seqSum := 0, 0
	var seq int
	var s sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&seq, &s); err != nil {
			return err
		}
		count++
		seqSum += seq
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := expect("rows", count, 5000); err != nil {
		return err
	}
	return expect("sum of seq", seqSum, 12502500)
}

type check struct {
	name string
	fn   func(context.Context) error
	skip string // why the check cannot run with this driver
}

func main() {
	checks := []check{
		{"login", checkLogin, ""},
		{"wrong_password", checkWrongPassword, ""},
		{"select1", checkSelect1, ""},
		{"rows_1000", checkRows1000, ""},
		{"rollback", checkRollback, ""},
		{"prepared_100", checkPrepared100, ""},
		{"blob_5mb", checkBlob5MB, ""},
		{"multi_statement", checkMultiStatement, ""},
		{"user_var", checkUserVar, ""},
		{"error_then_query", checkErrorThenQuery, ""},
		{"result_20mb", checkResult20MB, ""},
		{"use_db", checkUseDB, ""},
		{"change_db", nil, "database/sql has no change-database API"},
		{"change_user", nil, "database/sql and go-sql-driver have no COM_CHANGE_USER API"},
		{"close", checkClose, ""},
	}
	if tlsCA != "" {
		checks = []check{{"tls_login", checkTLSLogin, ""}, {"tls_rows", checkTLSRows, ""}}
	}
	// The driver's own logging (e.g. "unexpected EOF") goes to stderr, never stdout.
	for _, ch := range checks {
		if ch.fn == nil {
			fmt.Printf("%s: skip %s\n", ch.name, ch.skip)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
		err := ch.fn(ctx)
		cancel()
		if err != nil {
			fmt.Printf("%s: FAIL %s\n", ch.name, oneLine(err.Error()))
		} else {
			fmt.Printf("%s: ok\n", ch.name)
		}
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
