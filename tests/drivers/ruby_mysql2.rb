# Driver conformance checks for Ruby's mysql2 gem (libmariadb underneath). Contract
# (environment, one "<check>: ok|FAIL|skip" line per check on stdout, exit 0): see
# tests/drivers/run.sh.
#
# Server-side prepared statements: Client#prepare (mysql_stmt_prepare, COM_STMT_PREPARE /
# COM_STMT_EXECUTE). Multi-statements: the MULTI_STATEMENTS connect flag. mysql2 has no
# transaction API, so rollback sends BEGIN / ROLLBACK as statements.
#
# With DRV_TLS_CA set only the TLS checks run (tls_login, tls_rows), on one connection that
# requires TLS and verifies the server's certificate against that CA: sslca plus sslverify, and
# libmariadb's ssl-verify-server-cert=1 from an option file (default_file), because mysql2 0.5.3
# on libmariadb supports no ssl_mode and its sslverify flag alone lets a server without TLS
# through in plaintext; Client#ssl_cipher then shows the TLS in use.
require 'digest'
require 'mysql2'
require 'securerandom'

TIMEOUT_S = 10

class Skip < StandardError; end
class CheckFailed < StandardError; end

def env(name)
  ENV.fetch(name) { abort "missing environment variable #{name}" }
end

def expect(got, want, what)
  return if got == want

  show = ->(v) { (s = v.inspect).size > 60 ? "#{s[0, 60]}..." : s }
  raise CheckFailed, "#{what}: got #{show[got]}, want #{show[want]}"
end

# Runs the block, which must fail with MySQL error number errno.
def expect_error(errno)
  yield
rescue Mysql2::Error => e
  expect(e.error_number, errno, "error number (#{e.message})")
else
  raise CheckFailed, "succeeded, want error #{errno}"
end

# Runs one check: ok when the block returns, skip on Skip, FAIL on any other exception.
def check(name)
  yield
  puts "#{name}: ok"
rescue Skip => e
  puts "#{name}: skip #{e.message}"
rescue StandardError => e
  why = e.is_a?(CheckFailed) ? e.message : "#{e.class}: #{e.message}"
  puts "#{name}: FAIL #{why.gsub(/\s+/, ' ')[0, 300]}"
  warn "#{name}: #{e.class}: #{e.message}\n  #{e.backtrace.first(5).join("\n  ")}"
end

# A client that the block uses; it is closed afterwards whatever happens.
def with_client(user = USER, password = PASSWORD, db = DB)
  c = connect(user, password, db)
  yield c
ensure
  c&.close
end

def connect(user, password, db)
  Mysql2::Client.new(host: env('DRV_HOST'), port: Integer(env('DRV_PORT')),
                     username: user, password: password, database: db, encoding: 'utf8mb4',
                     connect_timeout: TIMEOUT_S, read_timeout: TIMEOUT_S, write_timeout: TIMEOUT_S,
                     flags: Mysql2::Client::MULTI_STATEMENTS)
end

def scalar(c, sql)
  c.query(sql, as: :array).first.first
end

USER, PASSWORD, DB = env('DRV_USER'), env('DRV_PASSWORD'), env('DRV_DB')
USER2, PASSWORD2, DB2 = env('DRV_USER2'), env('DRV_PASSWORD2'), env('DRV_DB2')
PREFIX = "drv_#{env('DRV_NAME')}_#{env('DRV_TARGET')}".gsub(/[^A-Za-z0-9]/, '_')
TLS_CA = ENV.fetch('DRV_TLS_CA', '')
$stdout.sync = true

# A client that requires TLS and verifies the server's certificate against TLS_CA.
def connect_tls
  option_file = File.join(env('DRV_TMPDIR'), 'tls-client.cnf')
  File.write(option_file, "[client]\nssl-verify-server-cert=1\n")
  c = Mysql2::Client.new(host: env('DRV_HOST'), port: Integer(env('DRV_PORT')),
                         username: USER, password: PASSWORD, database: DB, encoding: 'utf8mb4',
                         connect_timeout: TIMEOUT_S, read_timeout: TIMEOUT_S, write_timeout: TIMEOUT_S,
                         sslca: TLS_CA, sslverify: true, default_file: option_file)
  if c.ssl_cipher.nil?
    c.close
    raise CheckFailed, 'connected without TLS'
  end
  c
end

unless TLS_CA.empty?
  tls = nil # the connection of both checks
  check('tls_login') do
    tls = connect_tls
    expect(scalar(tls, 'SELECT DATABASE()'), DB, 'DATABASE()')
  end
  check('tls_rows') do
    tls ||= connect_tls
    rows = tls.query("SELECT seq, REPEAT('x', 100) FROM seq_1_to_5000", as: :array).to_a
    expect([rows.size, rows.sum(&:first)], [5000, 12_502_500], '[rows, sum of seq]')
  end
  tls&.close
  exit 0
end

check('login') do
  with_client { |c| expect(scalar(c, 'SELECT DATABASE()'), DB, 'DATABASE()') }
end

check('wrong_password') do
  expect_error(1045) { connect(USER, "#{PASSWORD}_wrong", DB).close }
end

check('select1') do
  with_client { |c| expect(scalar(c, 'SELECT 1'), 1, 'SELECT 1') }
end

check('rows_1000') do
  with_client do |c|
    t = "#{PREFIX}_rows"
    c.query("DROP TABLE IF EXISTS #{t}")
    c.query("CREATE TABLE #{t} (id INT PRIMARY KEY, v VARCHAR(64))")
    value = ->(i) { "row-#{i}-#{Digest::MD5.hexdigest(i.to_s)}" }
    # 10 executions of one prepared 100-row INSERT.
    insert = c.prepare("INSERT INTO #{t} (id, v) VALUES #{(['(?, ?)'] * 100).join(',')}")
    (1..1000).each_slice(100) { |ids| insert.execute(*ids.flat_map { |i| [i, value[i]] }) }
    insert.close
    rows = c.query("SELECT id, v FROM #{t} ORDER BY id", as: :array).to_a
    expect(rows.size, 1000, 'rows read')
    want = (1..1000).map { |i| "#{i}=#{value[i]};" }.join
    expect(Digest::MD5.hexdigest(rows.map { |id, v| "#{id}=#{v};" }.join),
           Digest::MD5.hexdigest(want), 'checksum of (id, v)')
    expect(c.query("SELECT COUNT(*), SUM(id) FROM #{t}", as: :array).first.map(&:to_i),
           [1000, 500_500], 'COUNT(*), SUM(id)')
    c.query("DROP TABLE #{t}")
  end
end

check('rollback') do
  with_client do |c|
    t = "#{PREFIX}_rollback"
    c.query("DROP TABLE IF EXISTS #{t}")
    c.query("CREATE TABLE #{t} (id INT PRIMARY KEY) ENGINE=InnoDB")
    c.query('BEGIN')
    c.query("INSERT INTO #{t} VALUES (1)")
    expect(scalar(c, "SELECT COUNT(*) FROM #{t}"), 1, 'rows inside the transaction')
    c.query('ROLLBACK')
    expect(scalar(c, "SELECT COUNT(*) FROM #{t}"), 0, 'rows after ROLLBACK')
    c.query("DROP TABLE #{t}")
  end
end

check('prepared_100') do
  with_client do |c|
    select = c.prepare('SELECT ? + 1')
    100.times { |i| expect(select.execute(i, as: :array).first.first, i + 1, "SELECT #{i} + 1") }
    select.close
  end
end

check('blob_5mb') do
  with_client do |c|
    t = "#{PREFIX}_blob"
    blob = SecureRandom.random_bytes(5 << 20)
    c.query("DROP TABLE IF EXISTS #{t}")
    c.query("CREATE TABLE #{t} (id INT PRIMARY KEY, b LONGBLOB)")
    insert = c.prepare("INSERT INTO #{t} (id, b) VALUES (1, ?)")
    insert.execute(blob)
    insert.close
    len, md5, back = c.query("SELECT LENGTH(b), MD5(b), b FROM #{t} WHERE id = 1", as: :array).first
    expect(len, blob.bytesize, 'LENGTH(b) on the server')
    expect(md5, Digest::MD5.hexdigest(blob), 'MD5(b) on the server')
    expect(back.bytesize, blob.bytesize, 'length read back')
    expect(back.b == blob.b, true, 'BLOB read back identical')
    c.query("DROP TABLE #{t}")
  end
end

check('multi_statement') do
  with_client do |c|
    sets = [c.query('SELECT 1; SELECT 2', as: :array).to_a]
    sets << c.store_result.to_a while c.next_result
    expect(sets, [[[1]], [[2]]], 'result sets')
  end
end

check('user_var') do
  with_client do |c|
    c.query('SET @v = 42')
    expect(scalar(c, 'SELECT @v'), 42, '@v')
  end
end

check('error_then_query') do
  with_client do |c|
    expect_error(1146) { c.query('SELECT * FROM drv_no_such_table') }
    expect(scalar(c, 'SELECT 1'), 1, 'SELECT 1 after the error')
  end
end

check('result_20mb') do
  with_client do |c|
    rows = bytes = seq_sum = 0
    # stream + cache_rows: false reads row by row (mysql_use_result), nothing is kept.
    c.query("SELECT seq, REPEAT('x', 1000) FROM seq_1_to_20000",
            as: :array, stream: true, cache_rows: false).each do |seq, x|
      rows += 1
      seq_sum += seq
      bytes += x.bytesize
    end
    expect([rows, bytes, seq_sum], [20_000, 20_000_000, 200_010_000], '[rows, total length, sum of seq]')
  end
end

check('use_db') do
  with_client do |c|
    c.query("USE `#{DB2}`")
    expect(scalar(c, 'SELECT DATABASE()'), DB2, 'DATABASE() after USE')
  end
end

check('change_db') do
  with_client do |c|
    c.select_db(DB2)
    expect(scalar(c, 'SELECT DATABASE()'), DB2, 'DATABASE() after select_db')
  end
end

check('change_user') do
  unless Mysql2::Client.method_defined?(:change_user)
    raise Skip, "mysql2 #{Mysql2::VERSION} has no COM_CHANGE_USER API"
  end

  with_client do |c|
    c.change_user(USER2, PASSWORD2, DB)
    current = scalar(c, 'SELECT CURRENT_USER()')
    expect(current.start_with?('ringsql_test2@'), true, "CURRENT_USER() '#{current}' is ringsql_test2")
    expect(scalar(c, 'SELECT DATABASE()'), DB, 'DATABASE() after change_user')
  end
end

check('close') do
  c = connect(USER, PASSWORD, DB)
  expect(scalar(c, 'SELECT 1'), 1, 'SELECT 1 before close')
  c.close
  expect(c.closed?, true, 'closed? after close')
  with_client { |c2| expect(scalar(c2, 'SELECT 1'), 1, 'SELECT 1 on a new connection') }
end

exit 0
