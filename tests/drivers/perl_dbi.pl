#!/usr/bin/perl
# Driver conformance checks (contract: tests/drivers/run.sh) for the two Perl DBI drivers,
# DBD::MariaDB and DBD::mysql, chosen by $ARGV[0] ("MariaDB" or "mysql"). Both are built on
# libmariadb; their options differ only by prefix (mariadb_* / mysql_*). Prints one
# "<check>: ok|FAIL why|skip why" line per check.
#
# With DRV_TLS_CA set only the TLS checks run (tls_login, tls_rows), on one connection with
# ssl=1 (TLS enforced), ssl_ca_file=<the CA> and ssl_verify_server_cert=1.
use strict;
use warnings;
use DBI qw(:sql_types);
use Digest::MD5 qw(md5_hex);
use Digest::SHA qw(sha256_hex);

my $driver = $ARGV[0] // 'MariaDB';
die "usage: $0 MariaDB|mysql\n" unless $driver =~ /^(MariaDB|mysql)$/;
my $opt = lc $driver;    # prefix of the driver's own attributes: mariadb_* or mysql_*

my %env = map { $_ => $ENV{"DRV_$_"} // '' }
  qw(HOST PORT USER PASSWORD DB USER2 PASSWORD2 DB2 TARGET NAME TLS_CA);
(my $prefix = "drv_" . ($env{NAME} || "perl-dbd-$opt") . "_$env{TARGET}") =~ s/[^A-Za-z0-9]/_/g;
my $timeout_s = 10;

# A fresh handle with RaiseError; %attr adds driver attributes without their prefix
# (server_prepare => 1 becomes mariadb_server_prepare / mysql_server_prepare).
sub connect_db {
    my (%attr) = @_;
    my $user = delete $attr{user} // $env{USER};
    my $password = delete $attr{password} // $env{PASSWORD};
    my $raise = delete $attr{raise} // 1;
    my $dsn = "DBI:$driver:database=$env{DB};host=$env{HOST};port=$env{PORT}"
      . join('', map { ";${opt}_${_}_timeout=$timeout_s" } qw(connect read write));
    return DBI->connect($dsn, $user, $password, {
        RaiseError => $raise, PrintError => 0, AutoCommit => 1, "${opt}_auto_reconnect" => 0,
        map { ("${opt}_$_" => $attr{$_}) } keys %attr,
    });
}

sub expect {
    my ($what, $got, $want) = @_;
    die sprintf("%s: got %s, want %s\n", $what, $got // 'undef', $want // 'undef')
      unless defined $got && defined $want && $got eq $want;
}

sub fresh_table {
    my ($dbh, $suffix, $columns) = @_;
    my $name = "${prefix}_$suffix";
    $dbh->do("DROP TABLE IF EXISTS $name");
    $dbh->do("CREATE TABLE $name ($columns)");
    return $name;
}

sub skip { die { skip => $_[0] } }

sub com_stmt_execute {    # the server's global count of COM_STMT_EXECUTE
    my ($dbh) = @_;
    return ($dbh->selectrow_array("SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'"))[1];
}

my $dbh;    # the shared connection, opened by login (by tls_login for the TLS checks)
sub connect_tls {
    connect_db(ssl => 1, ssl_ca_file => $env{TLS_CA}, ssl_verify_server_cert => 1,
        $opt eq 'mysql' ? (ssl_optional => 1) : ());
}
sub shared { $dbh //= $env{TLS_CA} ? connect_tls() : connect_db() }

# A check that takes its own handle closes it even when it fails.
sub with_conn {
    my ($attr, $body) = @_;
    my $h = connect_db(%$attr);
    my $ok = eval { $body->($h); 1 };
    my $err = $@;
    $h->disconnect;
    die $err unless $ok;
}

my @checks = (
    login => sub {
        $dbh = connect_db();
        expect('DATABASE()', $dbh->selectrow_array('SELECT DATABASE()'), $env{DB});
    },
    wrong_password => sub {
        my $h = connect_db(password => "$env{PASSWORD}-wrong", raise => 0);
        die "connected with a wrong password\n" if $h;
        die "error $DBI::err (SQLSTATE $DBI::state), want 1045 / 28000: $DBI::errstr\n"
          unless ($DBI::err // 0) == 1045 || ($DBI::state // '') eq '28000';
    },
    select1 => sub { expect('SELECT 1', shared()->selectrow_array('SELECT 1'), 1) },
    rows_1000 => sub {
        my $h = shared();
        my $t = fresh_table($h, 'rows', 'id INT PRIMARY KEY, v VARCHAR(64)');
        my @rows = map { [$_, "value-$_-" . md5_hex($_)] } 0 .. 999;
        # One multi-row INSERT with 2 000 placeholders.
        $h->do("INSERT INTO $t (id, v) VALUES " . join(',', ('(?,?)') x @rows), undef, map {@$_} @rows);
        my $got = $h->selectall_arrayref("SELECT id, v FROM $t ORDER BY id");
        expect('row count', scalar @$got, 1000);
        my $digest = sub { sha256_hex(join "\n", map { "$_->[0]:$_->[1]" } @{ $_[0] }) };
        expect('checksum of rows', $digest->($got), $digest->(\@rows));
        expect('server COUNT(*)', $h->selectrow_array("SELECT COUNT(*) FROM $t"), 1000);
        $h->do("DROP TABLE $t");
    },
    rollback => sub {
        my $h = shared();
        my $t = fresh_table($h, 'tx', 'id INT PRIMARY KEY');
        $h->begin_work;
        $h->do("INSERT INTO $t VALUES (?)", undef, 1);
        expect('rows inside the transaction', $h->selectrow_array("SELECT COUNT(*) FROM $t"), 1);
        $h->rollback;
        expect('rows after rollback', $h->selectrow_array("SELECT COUNT(*) FROM $t"), 0);
        $h->do("DROP TABLE $t");
    },
    prepared_100 => sub {
        # server_prepare=1 makes prepare() a COM_STMT_PREPARE and execute() a COM_STMT_EXECUTE;
        # disable_fallback stops the driver from quietly going back to text queries, and the
        # server's Com_stmt_execute counter must have moved by at least 100.
        with_conn({ server_prepare => 1, server_prepare_disable_fallback => 1 }, sub {
            my ($h) = @_;
            my $before = com_stmt_execute($h);
            my $sth = $h->prepare('SELECT ? + 1');
            for my $i (1 .. 100) {
                $sth->bind_param(1, $i, SQL_INTEGER);
                $sth->execute;
                my ($v) = $sth->fetchrow_array;
                $sth->finish;
                expect("SELECT $i + 1", $v, $i + 1);
            }
            my $delta = com_stmt_execute($h) - $before;
            die "Com_stmt_execute grew by $delta, want >= 100: not server-side\n" if $delta < 100;
        });
    },
    blob_5mb => sub {
        my $h = shared();
        my $t = fresh_table($h, 'blob', 'id INT PRIMARY KEY, b LONGBLOB');
        open my $rnd, '<:raw', '/dev/urandom' or die "/dev/urandom: $!\n";
        read($rnd, my $blob, 5 * 1024 * 1024) == 5 * 1024 * 1024 or die "short read\n";
        close $rnd;
        my $sth = $h->prepare("INSERT INTO $t VALUES (1, ?)");
        $sth->bind_param(1, $blob, SQL_BLOB);
        $sth->execute;
        my ($got, $len) = $h->selectrow_array("SELECT b, LENGTH(b) FROM $t WHERE id = 1");
        expect('LENGTH(b)', $len, length $blob);
        die sprintf("blob read back differs (%d bytes)\n", length($got // '')) unless ($got // '') eq $blob;
        $h->do("DROP TABLE $t");
    },
    multi_statement => sub {
        with_conn({ multi_statements => 1 }, sub {
            my ($h) = @_;
            my $sth = $h->prepare('SELECT 1; SELECT 2');
            $sth->execute;
            my @sets = ($sth->fetchall_arrayref);
            push @sets, $sth->fetchall_arrayref while $sth->more_results;
            expect('result sets', join('|', map { join ',', map {@$_} @$_ } @sets), '1|2');
        });
    },
    user_var => sub {
        my $h = shared();
        $h->do('SET @v = 42');
        expect('@v', $h->selectrow_array('SELECT @v'), 42);
    },
    error_then_query => sub {
        my $h = shared();
        die "querying a missing table did not fail\n"
          if eval { $h->do("SELECT * FROM no_such_table_$prefix"); 1 };
        expect('error code', $h->err, 1146);
        expect('SELECT 1 after the error', $h->selectrow_array('SELECT 1'), 1);
    },
    result_20mb => sub {
        my $sth = shared()->prepare("SELECT seq, REPEAT('x', 1000) FROM seq_1_to_20000");
        $sth->execute;
        my ($rows, $sum, $len) = (0, 0, 0);
        while (my $r = $sth->fetchrow_arrayref) { $rows++; $sum += $r->[0]; $len += length $r->[1] }
        expect('rows', $rows, 20000);
        expect('sum of seq', $sum, 20000 * 20001 / 2);
        expect('total length', $len, 20000 * 1000);
    },
    use_db => sub {
        with_conn({}, sub {
            my ($h) = @_;
            $h->do("USE $env{DB2}");
            expect('DATABASE()', $h->selectrow_array('SELECT DATABASE()'), $env{DB2});
        });
    },
    change_db => sub { skip("DBI and DBD::$driver have no change-database call (COM_INIT_DB), only SQL USE") },
    change_user => sub { skip("DBI and DBD::$driver have no change-user call (COM_CHANGE_USER)") },
    close => sub {
        my $h = shared();
        undef $dbh;
        $h->disconnect or die "disconnect: " . ($h->errstr // 'failed') . "\n";
        with_conn({}, sub { expect('SELECT 1 on a new connection', $_[0]->selectrow_array('SELECT 1'), 1) });
    },
);

my @tls_checks = (
    tls_login => sub {
        $dbh = connect_tls();
        expect('DATABASE()', $dbh->selectrow_array('SELECT DATABASE()'), $env{DB});
    },
    tls_rows => sub {
        my $rows = shared()->selectall_arrayref("SELECT seq, REPEAT('x', 100) FROM seq_1_to_5000");
        my $sum = 0;
        $sum += $_->[0] for @$rows;
        expect('rows', scalar @$rows, 5000);
        expect('sum of seq', $sum, 12502500);
    },
);
@checks = @tls_checks if $env{TLS_CA};

$| = 1;
while (my ($name, $check) = splice @checks, 0, 2) {
    if (eval { $check->(); 1 }) {
        print "$name: ok\n";
        next;
    }
    my $err = $@;
    if (ref $err eq 'HASH' && exists $err->{skip}) {
        print "$name: skip $err->{skip}\n";
        next;
    }
    print STDERR "$name: $err";
    (my $why = "$err") =~ s/\s+/ /g;
    $why =~ s/ $//;
    print "$name: FAIL ", substr($why, 0, 300), "\n";
    # A failed check may leave the shared connection unusable: start afresh.
    if ($dbh && $name ne 'close') {
        eval { $dbh->disconnect };
        undef $dbh;
    }
}
exit 0;
