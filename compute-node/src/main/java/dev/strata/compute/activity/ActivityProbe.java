package dev.strata.compute.activity;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Properties;

/**
 * Reads a compute's client activity from {@code pg_stat_activity} over one connection of its
 * own. Every connection of the compute agent (application_name {@value #APPLICATION_NAME}: this
 * probe and the commit-path monitor, which polls every second) is left out of the counts, or a
 * compute would never look idle to itself. Walsenders (the safekeepers) are not clients.
 */
public final class ActivityProbe implements AutoCloseable {

    public static final String APPLICATION_NAME = "strata-agent";
    private static final String QUERY = """
            SELECT count(*) FILTER (WHERE state IS DISTINCT FROM NULL),
                   bool_or(state = 'active'),
                   max(greatest(query_start, state_change, backend_start))
              FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
               AND coalesce(application_name, '') <> 'strata-agent'
            """;

    private final String url;
    private final Properties props;
    private final Instant startedAt;
    private Connection connection;
    private Instant lastSeen;

    public ActivityProbe(String jdbcUrl, String user, String password, Instant startedAt) {
        this.url = jdbcUrl;
        this.props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("ApplicationName", APPLICATION_NAME);
        props.setProperty("connectTimeout", "5");
        props.setProperty("socketTimeout", "10");
        this.startedAt = startedAt;
        this.lastSeen = startedAt;
    }

    /** The activity now; a failed probe throws (the compute may be gone). */
    public synchronized Activity probe() throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = DriverManager.getConnection(url, props);
        }
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(QUERY)) {
            rs.next();
            int open = rs.getInt(1);
            boolean active = rs.getBoolean(2);
            Timestamp latest = rs.getTimestamp(3);
            Instant now = Instant.now();
            Instant seen = active ? now : latest != null ? latest.toInstant() : startedAt;
            if (seen.isAfter(lastSeen)) {
                lastSeen = seen;
            }
            return new Activity(open, lastSeen);
        } catch (SQLException e) {
            closeQuietly();
            throw e;
        }
    }

    /** How many replication clients (the safekeepers) are streaming from the compute now. */
    public synchronized int streamingStandbys() throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = DriverManager.getConnection(url, props);
        }
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) {
            rs.next();
            return rs.getInt(1);
        } catch (SQLException e) {
            closeQuietly();
            throw e;
        }
    }

    private void closeQuietly() {
        try {
            if (connection != null) {
                connection.close();
            }
        } catch (SQLException ignored) {
            // the connection is being thrown away
        }
        connection = null;
    }

    @Override
    public synchronized void close() {
        closeQuietly();
    }
}
