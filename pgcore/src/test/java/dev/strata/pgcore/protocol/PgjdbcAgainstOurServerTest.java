package dev.strata.pgcore.protocol;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.postgresql.util.PSQLException;

import java.io.DataInputStream;
import java.io.InputStream;
import java.net.Socket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Real pgjdbc against {@link MiniPgServer}: our server-side codecs meet a client we did not write. */
class PgjdbcAgainstOurServerTest {

    @ParameterizedTest
    @EnumSource(MiniPgServer.Auth.class)
    void pgjdbcAuthenticatesAndRunsASimpleQuery(MiniPgServer.Auth auth) throws Exception {
        try (MiniPgServer server = new MiniPgServer(auth);
             Connection c = DriverManager.getConnection(server.jdbcUrl(), credentials(MiniPgServer.PASSWORD));
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT 1")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt(1)).isEqualTo(1);
            assertThat(rs.next()).isFalse();
            // pgjdbc asked for SSL first (sslmode=prefer) and went on in cleartext after 'N'.
            assertThat(server.received.peek()).isEqualTo(FrontendMessage.SSLRequest.INSTANCE);
            var startup = (FrontendMessage.StartupMessage) server.nextReceived(FrontendMessage.StartupMessage.class);
            assertThat(startup.user()).isEqualTo(MiniPgServer.USER);
            assertThat(startup.database()).isEqualTo("app");
        }
    }

    @Test
    void pgjdbcSurfacesTheErrorResponseFields() throws Exception {
        try (MiniPgServer server = new MiniPgServer(MiniPgServer.Auth.SCRAM);
             Connection c = DriverManager.getConnection(server.jdbcUrl(), credentials(MiniPgServer.PASSWORD));
             Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeQuery("SELECT * FROM nowhere"))
                    .isInstanceOfSatisfying(PSQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("42P01");
                        assertThat(e.getServerErrorMessage().getMessage()).isEqualTo("relation \"nowhere\" does not exist");
                        assertThat(e.getServerErrorMessage().getDetail()).isEqualTo("mini server knows no tables");
                        assertThat(e.getServerErrorMessage().getHint()).isEqualTo("try SELECT 1");
                    });
            // The session goes on after an error (ReadyForQuery followed it).
            try (ResultSet rs = s.executeQuery("SELECT 7")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(7);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(MiniPgServer.Auth.class)
    void wrongPasswordIsRejectedWith28P01(MiniPgServer.Auth auth) throws Exception {
        try (MiniPgServer server = new MiniPgServer(auth)) {
            assertThatThrownBy(() -> DriverManager.getConnection(server.jdbcUrl(), credentials("wrong")))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("28P01"));
        }
    }

    @Test
    void pgjdbcCancelReachesTheServerWithTheBackendKey() throws Exception {
        try (MiniPgServer server = new MiniPgServer(MiniPgServer.Auth.CLEARTEXT);
             Connection c = DriverManager.getConnection(server.jdbcUrl(), credentials(MiniPgServer.PASSWORD));
             Statement s = c.createStatement()) {
            var sleeper = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    s.executeQuery("SELECT pg_sleep(30)");
                } catch (SQLException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            while (!(server.nextReceived(FrontendMessage.Query.class) instanceof FrontendMessage.Query q
                    && q.sql().startsWith("SELECT pg_sleep"))) {
                // skip pgjdbc's setup queries
            }
            s.cancel();
            assertThat(server.nextReceived(FrontendMessage.CancelRequest.class))
                    .isEqualTo(new FrontendMessage.CancelRequest(MiniPgServer.PROCESS_ID, MiniPgServer.SECRET_KEY));
            assertThatThrownBy(() -> sleeper.get(5, java.util.concurrent.TimeUnit.SECONDS))
                    .rootCause().isInstanceOfSatisfying(SQLException.class,
                            e -> assertThat(e.getSQLState()).isEqualTo("57014"));
        }
    }

    @Test
    void garbageGetsAFatalProtocolErrorAndOthersAreStillServed() throws Exception {
        try (MiniPgServer server = new MiniPgServer(MiniPgServer.Auth.CLEARTEXT)) {
            try (Socket raw = new Socket("127.0.0.1", server.port())) {
                raw.setSoTimeout(5000);
                raw.getOutputStream().write(new byte[] {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff});
                DataInputStream in = new DataInputStream(raw.getInputStream());
                assertThat(in.readByte()).isEqualTo((byte) 'E');
                byte[] body = new byte[in.readInt() - 4];
                in.readFully(body);
                assertThat(new String(body)).contains("08P01").contains("invalid startup packet length 2147483647");
                assertThat(readToEnd(raw.getInputStream())).isEqualTo(-1);
            }
            assertThat(server.nextReceived(ProtocolException.class)).isInstanceOf(ProtocolException.class);
            try (Connection c = DriverManager.getConnection(server.jdbcUrl(), credentials(MiniPgServer.PASSWORD))) {
                assertThat(c.isValid(5)).isTrue();
            }
        }
    }

    private static int readToEnd(InputStream in) throws Exception {
        return in.read();
    }

    private static Properties credentials(String password) {
        Properties p = new Properties();
        p.setProperty("user", MiniPgServer.USER);
        p.setProperty("password", password);
        return p;
    }
}
