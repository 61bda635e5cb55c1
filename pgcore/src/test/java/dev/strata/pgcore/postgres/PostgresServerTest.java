package dev.strata.pgcore.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresServerTest {

    @Test
    void binariesAreVersion17AndReusedFromTheCache() {
        PostgresBinaries first = PostgresBinaries.resolve();
        PostgresBinaries second = PostgresBinaries.resolve();
        assertThat(first.version()).startsWith("17.");
        assertThat(second.home()).isEqualTo(first.home());
        assertThat(first.bin("initdb")).isExecutable();
        assertThat(first.home().resolve("lib/postgresql/pg_walinspect.so")).exists();
    }

    @Test
    void startsWithSettingsAndRequiresAPassword() throws Exception {
        try (PostgresServer pg = PostgresServer.builder().setting("wal_level", "logical")
                .setting("application_name", "it's quoted").start()) {
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
                 Statement s = c.createStatement()) {
                assertThat(scalar(s, "SHOW wal_level")).isEqualTo("logical");
                assertThat(scalar(s, "SELECT current_setting('server_version_num')")).startsWith("17");
                assertThat(scalar(s, "SELECT inet_server_addr()::text")).isEqualTo("127.0.0.1/32");
            }
            String wrongPassword = "jdbc:postgresql://127.0.0.1:" + pg.port() + "/postgres?user=" + pg.user() + "&password=wrong";
            assertThatThrownBy(() -> DriverManager.getConnection(wrongPassword))
                    .isInstanceOf(SQLException.class).hasMessageContaining("password authentication failed");
        }
    }

    @Test
    void closeStopsTheServerAndDeletesItsTemporaryDirectory() {
        PostgresServer pg = PostgresServer.builder().start();
        Path data = pg.dataDir();
        long pid = pg.pid();
        pg.close();
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertThat(data).doesNotExist();
    }

    @Test
    void restartsOnTheSameDataAfterAKill(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        try (PostgresServer pg = PostgresServer.builder().dataDir(data).start()) {
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
                 Statement s = c.createStatement()) {
                s.execute("CREATE TABLE t AS SELECT generate_series(1, 1000) AS x");
            }
            int port = pg.port();
            pg.kill();
            assertThat(pg.isRunning()).isFalse();
            pg.start();
            assertThat(pg.port()).isEqualTo(port);
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
                 Statement s = c.createStatement()) {
                assertThat(scalar(s, "SELECT sum(x) FROM t")).isEqualTo("500500");
            }
        }
        assertThat(Files.exists(data.resolve("PG_VERSION"))).as("a given data directory is kept").isTrue();
    }

    @Test
    void aBadSettingFailsWithTheServerLog() {
        assertThatThrownBy(() -> PostgresServer.builder().setting("shared_buffers", "not-a-size").start())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("shared_buffers");
    }

    @Test
    void refusesTrust() {
        assertThatThrownBy(() -> PostgresServer.builder().authMethod("trust"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("never uses trust");
    }

    private static String scalar(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
