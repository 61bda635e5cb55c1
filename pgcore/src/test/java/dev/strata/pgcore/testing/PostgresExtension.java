package dev.strata.pgcore.testing;

import dev.strata.pgcore.postgres.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real PostgreSQL 17 server shared by the tests of one class, started before the first test
 * and stopped after the last one, whether the tests pass or fail:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final PostgresExtension pg = PostgresExtension.with(b -> b.setting("wal_level", "logical"));
 * }</pre>
 *
 * For a server per test, use {@link PostgresServer} in try-with-resources instead.
 */
public final class PostgresExtension implements BeforeAllCallback, AfterAllCallback {

    private final Consumer<PostgresServer.Builder> configuration;
    private PostgresServer server;

    private PostgresExtension(Consumer<PostgresServer.Builder> configuration) {
        this.configuration = configuration;
    }

    public static PostgresExtension with(Consumer<PostgresServer.Builder> configuration) {
        return new PostgresExtension(configuration);
    }

    public static PostgresExtension defaults() {
        return new PostgresExtension(b -> { });
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        PostgresServer.Builder builder = PostgresServer.builder();
        configuration.accept(builder);
        server = builder.start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    public PostgresServer server() {
        if (server == null) {
            throw new IllegalStateException("the PostgreSQL server runs only between beforeAll and afterAll");
        }
        return server;
    }

    /** A new JDBC connection to {@code database}; the caller closes it. */
    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(server().jdbcUrl(database));
    }
}
