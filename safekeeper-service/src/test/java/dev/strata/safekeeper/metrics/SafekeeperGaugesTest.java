package dev.strata.safekeeper.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.metrics.EmfDocument;
import dev.strata.pgcore.metrics.MetricNames;
import dev.strata.pgcore.metrics.Sample;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.http.SafekeeperServer;
import dev.strata.safekeeper.receive.ComputeAddress;
import dev.strata.safekeeper.testing.FakeCompute;
import dev.strata.safekeeper.testing.RealWal;
import dev.strata.safekeeper.testing.TestSafekeepers;
import dev.strata.safekeeper.timeline.Timeline;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A real safekeeper receiving real WAL from a compute, read by its gauges and encoded as CloudWatch reads it. */
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SafekeeperGaugesTest {

    @Test
    void gaugesFollowTheWalReceivedAndTheCommitLsn(@TempDir Path dir) throws Exception {
        RealWal wal = RealWal.generate(2000);
        try (SafekeeperServer sk = SafekeeperServer.start(TestSafekeepers.config(NodeId.of("sk-1"), dir, "pw"));
             FakeCompute compute = new FakeCompute(wal.systemId(), wal.start(), wal.bytes())) {
            SafekeeperGauges gauges = new SafekeeperGauges(sk.node(), dir);
            Map<String, Double> idle = values(gauges.read());
            assertThat(idle.get(MetricNames.SAFEKEEPER_IN_QUORUM)).isEqualTo(1.0);
            assertThat(idle.get(MetricNames.SAFEKEEPER_RECEIVERS)).isEqualTo(0.0);
            assertThat(idle.get(MetricNames.SAFEKEEPER_WAL_RETAINED_BYTES)).isEqualTo(0.0);
            assertThat(idle.get(MetricNames.SAFEKEEPER_DISK_FREE_BYTES)).isGreaterThan(0.0);

            TimelineId tl = TimelineId.random();
            TestSafekeepers.client(sk.url()).createTimeline(tl, wal.systemId(), RealWal.SEGMENT_SIZE, wal.start());
            Proposer proposer = TestSafekeepers.proposer(tl,
                    List.of(new Proposer.Member(NodeId.of("sk-1"), sk.url())), Duration.ofSeconds(30));
            Proposer.Result elected = proposer.elect();
            proposer.streamFrom(new ComputeAddress(elected.term(), "127.0.0.1", compute.port(), FakeCompute.USER,
                    FakeCompute.PASSWORD));
            Timeline timeline = sk.node().requireTimeline(tl);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            // Alone, this node is its own quorum: its position exchange raises the commit LSN to
            // its flush LSN in the background. Wait for both to settle at the end of the WAL sent.
            while (!(timeline.status().flushLsn().equals(wal.end()) && timeline.status().commitLsn().equals(wal.end()))
                    && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(timeline.status().flushLsn()).isEqualTo(wal.end());
            assertThat(timeline.status().commitLsn()).isEqualTo(wal.end());

            Map<String, Double> streaming = values(gauges.read());
            assertThat(streaming.get(MetricNames.SAFEKEEPER_RECEIVERS)).isEqualTo(1.0);
            assertThat(streaming.get(MetricNames.SAFEKEEPER_IN_QUORUM)).isEqualTo(1.0);
            assertThat(streaming.get(MetricNames.SAFEKEEPER_WAL_RETAINED_BYTES))
                    .isEqualTo((double) wal.end().minus(timeline.status().walRetainedFromLsn()));
            assertThat(streaming.get(MetricNames.SAFEKEEPER_OFFLOAD_BACKLOG_BYTES)).isEqualTo(0.0); // no remote storage

            // The quorum commits past what this member flushed: it lags by exactly the difference,
            // and the commit advance is what the commit LSN moved since the previous read.
            Lsn commit = wal.end().plus(4096);
            timeline.advanceCommit(commit);
            Map<String, Double> lagging = values(gauges.read());
            assertThat(lagging.get(MetricNames.SAFEKEEPER_FLUSH_LAG_BYTES)).isEqualTo(4096.0);
            assertThat(lagging.get(MetricNames.SAFEKEEPER_COMMIT_ADVANCE_BYTES)).isEqualTo(4096.0);
            assertThat(values(gauges.read()).get(MetricNames.SAFEKEEPER_COMMIT_ADVANCE_BYTES)).isEqualTo(0.0);

            Map<String, String> dims = new LinkedHashMap<>();
            dims.put(MetricNames.ENVIRONMENT, "prod");
            dims.put(MetricNames.NODE, "sk-1");
            String doc = EmfDocument.encode(MetricNames.NAMESPACE, dims, gauges.read(), Instant.ofEpochMilli(1000));
            assertThat(doc)
                    .contains("\"Dimensions\":[[\"Environment\",\"Node\"]]")
                    .contains("{\"Name\":\"SafekeeperInQuorum\",\"Unit\":\"Count\"}")
                    .contains("{\"Name\":\"SafekeeperFlushLagBytes\",\"Unit\":\"Bytes\"}")
                    .contains("{\"Name\":\"SafekeeperDiskFreeBytes\",\"Unit\":\"Bytes\"}")
                    .contains("\"Node\":\"sk-1\"")
                    .contains("\"SafekeeperInQuorum\":1,")
                    .contains("\"SafekeeperFlushLagBytes\":4096,");
        }
    }

    private static Map<String, Double> values(List<Sample> samples) {
        assertThat(samples).allSatisfy(s -> assertThat(s.unit()).isEqualTo(
                s.name().endsWith("Bytes") ? Sample.Unit.BYTES : Sample.Unit.COUNT));
        return samples.stream().collect(Collectors.toMap(Sample::name, Sample::value));
    }
}
