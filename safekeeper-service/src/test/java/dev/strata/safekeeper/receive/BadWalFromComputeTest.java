package dev.strata.safekeeper.receive;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalReader;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.http.Dto;
import dev.strata.safekeeper.http.SafekeeperServer;
import dev.strata.safekeeper.testing.FakeCompute;
import dev.strata.safekeeper.testing.TestSafekeepers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A compute that sends a corrupted record or belongs to another system is refused; nothing bad is stored. */
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BadWalFromComputeTest {

    private static final int SEG = 16 << 20;
    private static long systemId;
    private static Lsn start;
    private static byte[] wal;
    private static final List<DecodedRecord> records = new ArrayList<>();

    @BeforeAll
    static void realWal() throws Exception {
        try (PostgresServer pg = PostgresServer.builder().setting("wal_keep_size", "1GB").start()) {
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery("SELECT system_identifier, pg_current_wal_insert_lsn() FROM pg_control_system()")) {
                    rs.next();
                    systemId = rs.getLong(1);
                    start = Lsn.parse(rs.getString(2)).segmentStart(SEG);
                }
                s.execute("CREATE TABLE t AS SELECT g, md5(g::text) AS v FROM generate_series(1, 2000) g");
            }
            pg.stop();
            wal = Files.readAllBytes(pg.walDir().resolve(start.walFileName(1, SEG)));
            try (WalReader r = new WalReader(pg.walDir(), 1, start, start.plus(SEG))) {
                DecodedRecord rec;
                while ((rec = r.next()) != null) {
                    records.add(rec);
                }
            }
            wal = Arrays.copyOf(wal, (int) records.getLast().endLsn().minus(start));
        }
    }

    @Test
    void aRecordWithABadCrcIsRefusedAndNothingOfItIsStored(@TempDir Path dir) throws Exception {
        DecodedRecord bad = records.stream()
                .filter(r -> r.startLsn().pageStart(8192).equals(Lsn.of(r.endLsn().value() - 1).pageStart(8192))) // within one page
                .skip(records.size() / 2)
                .findFirst().orElseThrow();
        byte[] corrupt = wal.clone();
        corrupt[(int) bad.startLsn().minus(start) + bad.totalLength() / 2] ^= 0x42;

        try (SafekeeperServer sk = SafekeeperServer.start(TestSafekeepers.config(NodeId.of("sk-1"), dir, "pw"));
             FakeCompute compute = new FakeCompute(systemId, start, corrupt)) {
            Dto.Status st = attach(sk, compute, systemId);
            assertThat(st.receiver()).startsWith("stopped").contains(bad.startLsn().toString());
            assertThat(st.flush()).isLessThanOrEqualTo(bad.startLsn()).isGreaterThan(start);
            // The safekeeper keeps serving its API.
            assertThat(TestSafekeepers.client(sk.url()).status(TimelineId.parse(st.timelineId())).promisedTerm()).isEqualTo(1);
        }
    }

    @Test
    void aComputeOfAnotherSystemIsRefused(@TempDir Path dir) throws Exception {
        try (SafekeeperServer sk = SafekeeperServer.start(TestSafekeepers.config(NodeId.of("sk-1"), dir, "pw"));
             FakeCompute compute = new FakeCompute(systemId + 1, start, wal)) {
            Dto.Status st = attach(sk, compute, systemId);
            assertThat(st.receiver()).startsWith("stopped").contains("system");
            assertThat(st.flush()).isEqualTo(start);
        }
    }

    /** Creates a timeline of {@code system}, elects term 1, points the safekeeper at the fake compute; waits until it stopped. */
    private static Dto.Status attach(SafekeeperServer sk, FakeCompute compute, long system) throws Exception {
        TimelineId tl = TimelineId.random();
        SafekeeperClient client = TestSafekeepers.client(sk.url());
        client.createTimeline(tl, system, SEG, start);
        Proposer proposer = TestSafekeepers.proposer(tl, List.of(new Proposer.Member(NodeId.of("sk-1"), sk.url())), Duration.ofSeconds(30));
        Proposer.Result elected = proposer.elect();
        assertThat(elected.term()).isEqualTo(Term.of(1));
        proposer.streamFrom(new ComputeAddress(elected.term(), "127.0.0.1", compute.port(), FakeCompute.USER, FakeCompute.PASSWORD));
        Dto.Status st = client.status(tl);
        for (int i = 0; i < 300 && !st.receiver().startsWith("stopped"); i++) {
            Thread.sleep(50);
            st = client.status(tl);
        }
        return st;
    }
}
