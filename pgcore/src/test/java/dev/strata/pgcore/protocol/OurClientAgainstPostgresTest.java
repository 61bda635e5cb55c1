package dev.strata.pgcore.protocol;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.testing.PgTestClient;
import dev.strata.pgcore.protocol.BackendMessage.DataRow;
import dev.strata.pgcore.protocol.BackendMessage.ErrorResponse;
import dev.strata.pgcore.protocol.BackendMessage.RowDescription;
import dev.strata.pgcore.protocol.replication.PgTimestamp;
import dev.strata.pgcore.protocol.replication.ReplicationMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Our client-side codecs against a real PostgreSQL 17: login, queries, errors, cancel, replication. */
class OurClientAgainstPostgresTest {

    private static PostgresServer pg;

    @BeforeAll
    static void startPostgres() {
        pg = PostgresServer.builder()
                .setting("wal_level", "replica")
                .setting("max_wal_senders", "4")
                // Keepalives come at half of this when the client is silent: keeps the test short.
                .setting("wal_sender_timeout", "2s")
                .start();
    }

    @AfterAll
    static void stopPostgres() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void scramLoginThenSimpleQuery() {
        try (PgTestClient client = new PgTestClient(pg.host(), pg.port())) {
            PgTestClient.Session session = client.login(params(), pg.password());
            assertThat(session.parameters()).containsEntry("application_name", "strata-test")
                    .containsKey("integer_datetimes");
            assertThat(session.parameters().get("server_version")).startsWith("17.");
            assertThat(session.key()).isNotNull();

            List<BackendMessage> reply = client.query("SELECT 1 AS one, NULL::text AS nothing");
            assertThat(reply).hasSize(4);
            RowDescription description = (RowDescription) reply.get(0);
            assertThat(description.fields()).extracting(BackendMessage.Field::name).containsExactly("one", "nothing");
            assertThat(description.fields().get(0).typeOid()).isEqualTo(BackendMessage.Field.INT4_OID);
            DataRow row = (DataRow) reply.get(1);
            assertThat(new String(row.values().get(0), StandardCharsets.UTF_8)).isEqualTo("1");
            assertThat(row.values().get(1)).isNull();
            assertThat(reply.get(2)).isEqualTo(new BackendMessage.CommandComplete("SELECT 1"));
            assertThat(reply.get(3)).isEqualTo(BackendMessage.ReadyForQuery.IDLE);

            assertThat(client.query("")).containsExactly(BackendMessage.EmptyQueryResponse.INSTANCE,
                    BackendMessage.ReadyForQuery.IDLE);
            client.send(FrontendMessage.Terminate.INSTANCE);
            assertThat(client.awaitClosed()).isTrue();
        }
    }

    @Test
    void badQueryGivesAnErrorResponseWithFieldsAndANotice() {
        try (PgTestClient client = new PgTestClient(pg.host(), pg.port())) {
            client.login(params(), pg.password());
            List<BackendMessage> reply = client.query("SELECT * FROM no_such_table");
            ErrorResponse error = (ErrorResponse) reply.getFirst();
            assertThat(error.severity()).isEqualTo("ERROR");
            assertThat(error.code()).isEqualTo("42P01");
            assertThat(error.message()).isEqualTo("relation \"no_such_table\" does not exist");
            assertThat(error.fields()).containsEntry('P', "15");
            assertThat(reply.getLast()).isEqualTo(BackendMessage.ReadyForQuery.IDLE);

            List<BackendMessage> notice = client.query("DO $$ BEGIN RAISE NOTICE 'hello' USING HINT = 'hint'; END $$");
            var n = (BackendMessage.NoticeResponse) notice.getFirst();
            assertThat(n.severity()).isEqualTo("NOTICE");
            assertThat(n.message()).isEqualTo("hello");
            assertThat(n.hint()).isEqualTo("hint");
        }
    }

    @Test
    void cancelRequestFromAnotherConnectionCancelsTheQuery() {
        try (PgTestClient client = new PgTestClient(pg.host(), pg.port())) {
            PgTestClient.Session session = client.login(params(), pg.password());
            client.send(new FrontendMessage.Query("SELECT pg_sleep(30)"));
            // The server must be executing the query before the cancel arrives, or it cancels nothing.
            awaitActiveQuery("SELECT pg_sleep(30)");
            try (PgTestClient canceller = new PgTestClient(pg.host(), pg.port())) {
                canceller.send(new FrontendMessage.CancelRequest(session.key().processId(), session.key().secretKey()));
                assertThat(canceller.awaitClosed()).isTrue();
            }
            long start = System.nanoTime();
            // The row description went out before execution started; then the cancellation.
            client.expect(RowDescription.class);
            ErrorResponse error = client.expect(ErrorResponse.class);
            assertThat(error.code()).isEqualTo("57014");
            assertThat(error.message()).isEqualTo("canceling statement due to user request");
            assertThat(client.expect(BackendMessage.ReadyForQuery.class)).isEqualTo(BackendMessage.ReadyForQuery.IDLE);
            assertThat(System.nanoTime() - start).isLessThan(10_000_000_000L);
        }
    }

    @Test
    void md5Login() {
        try (PostgresServer md5 = PostgresServer.builder().authMethod("md5").start();
             PgTestClient client = new PgTestClient(md5.host(), md5.port())) {
            Map<String, String> p = Map.of("user", md5.user(), "database", "postgres");
            assertThat(client.login(p, md5.password()).key()).isNotNull();
            assertThat(client.query("SELECT 2").get(2)).isEqualTo(new BackendMessage.CommandComplete("SELECT 1"));
        }
    }

    @Test
    void physicalReplicationStreamsXLogDataFromTheRequestedStart() throws Exception {
        try (PgTestClient client = new PgTestClient(pg.host(), pg.port())) {
            client.login(Map.of("user", pg.user(), "replication", "true", "application_name", "sk-test"), pg.password());

            List<BackendMessage> identify = client.query("IDENTIFY_SYSTEM");
            assertThat(((RowDescription) identify.get(0)).fields()).extracting(BackendMessage.Field::name)
                    .containsExactly("systemid", "timeline", "xlogpos", "dbname");
            DataRow row = (DataRow) identify.get(1);
            String timeline = text(row.values().get(1));
            Lsn xlogpos = Lsn.parse(text(row.values().get(2)));
            long segmentSize = 16L * 1024 * 1024; // initdb's default, which PostgresServer keeps
            Lsn start = Lsn.of(xlogpos.value() & -segmentSize);

            client.send(new FrontendMessage.Query("START_REPLICATION PHYSICAL " + start + " TIMELINE " + timeline));
            client.expect(BackendMessage.CopyBothResponse.class);

            var first = (ReplicationMessage.XLogData) replicationMessage(client);
            assertThat(first.walStart()).isEqualTo(start);
            assertThat(first.payload()).isNotEmpty();
            // Read until the sender has caught up and sends a keepalive (it asks for a reply
            // when we stay silent for wal_sender_timeout / 2).
            Lsn received = first.dataEnd();
            ReplicationMessage m;
            while (!((m = replicationMessage(client)) instanceof ReplicationMessage.PrimaryKeepalive)) {
                var data = (ReplicationMessage.XLogData) m;
                assertThat(data.walStart()).isEqualTo(received); // no gaps
                received = data.dataEnd();
            }
            var keepalive = (ReplicationMessage.PrimaryKeepalive) m;
            assertThat(keepalive.walEnd()).isGreaterThanOrEqualTo(received);

            var status = new ReplicationMessage.StandbyStatusUpdate(received, received, Lsn.INVALID,
                    PgTimestamp.now(), false);
            client.send(new FrontendMessage.CopyData(status.encode()));
            awaitReplicationColumn("flush_lsn", received.toString());

            long xmin = snapshotXmin();
            var feedback = new ReplicationMessage.HotStandbyFeedback(PgTimestamp.now(), (int) xmin,
                    (int) (xmin >>> 32), 0, 0);
            client.send(new FrontendMessage.CopyData(feedback.encode()));
            awaitReplicationColumn("backend_xmin", Long.toString(xmin & 0xffffffffL));
        }
    }

    private static ReplicationMessage replicationMessage(PgTestClient client) {
        return ReplicationMessage.decode(client.expect(BackendMessage.CopyData.class).data());
    }

    private static long snapshotXmin() throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT txid_snapshot_xmin(txid_current_snapshot())")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Waits until the walsender of our session shows {@code expected} in a pg_stat_replication column. */
    private static void awaitReplicationColumn(String column, String expected) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        String seen = null;
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Statement s = c.createStatement()) {
            while (System.nanoTime() < deadline) {
                try (ResultSet rs = s.executeQuery(
                        "SELECT " + column + " FROM pg_stat_replication WHERE application_name = 'sk-test'")) {
                    seen = rs.next() ? rs.getString(1) : null;
                }
                if (expected.equals(seen)) {
                    return;
                }
                Thread.sleep(50);
            }
        }
        throw new AssertionError("pg_stat_replication shows " + column + " " + seen + ", expected " + expected);
    }

    private static void awaitActiveQuery(String sql) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Statement s = c.createStatement()) {
            while (System.nanoTime() < deadline) {
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = '"
                        + sql.replace("'", "''") + "'")) {
                    rs.next();
                    if (rs.getInt(1) > 0) {
                        return;
                    }
                }
                Thread.sleep(20);
            }
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("query not active within 10 s: " + sql);
    }

    private static Map<String, String> params() {
        return Map.of("user", pg.user(), "database", "postgres", "application_name", "strata-test");
    }

    private static String text(byte[] value) {
        return new String(value, StandardCharsets.UTF_8);
    }
}
