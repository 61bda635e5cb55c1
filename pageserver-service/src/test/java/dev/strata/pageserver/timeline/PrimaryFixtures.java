package dev.strata.pageserver.timeline;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** A stock PostgreSQL primary as the branch and GC tests drive it: SQL, its insert position, its walsender. */
final class PrimaryFixtures {

    private PrimaryFixtures() {
    }

    /** The primary's walsender as a timeline's WAL source. */
    static WalSource source(PostgresServer pg) {
        return new WalSource(pg.host(), pg.port(), pg.user(), pg.password());
    }

    /** The end of the WAL inserted so far; on a page boundary the insert position is past the page header. */
    static Lsn insertLsn(PostgresServer pg) throws SQLException {
        Lsn insert = Lsn.parse(query(pg, "SELECT pg_current_wal_insert_lsn()"));
        int inPage = insert.pageOffset(8192);
        if (inPage == 24 || (inPage == 40 && insert.segmentOffset(16 << 20) == 40)) {
            return insert.pageStart(8192);
        }
        return insert;
    }

    static void execute(PostgresServer pg, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** The first column of the first row, or null without rows. */
    static String query(PostgresServer pg, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement();
             ResultSet r = s.executeQuery(sql)) {
            return r.next() ? r.getString(1) : null;
        }
    }
}
