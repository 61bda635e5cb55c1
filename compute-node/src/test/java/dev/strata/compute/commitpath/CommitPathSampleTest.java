package dev.strata.compute.commitpath;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.replication.ReplicationSlotName;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CommitPathSampleTest {

    private static SafekeeperPosition sk(String id, String restart, String flush) {
        NodeId n = NodeId.of(id);
        return new SafekeeperPosition(n, ReplicationSlotName.forSafekeeper(n), restart == null ? null : Lsn.parse(restart),
                restart == null ? "lost" : "reserved", flush == null ? "disconnected" : "streaming", null,
                flush == null ? null : Lsn.parse(flush));
    }

    @Test
    void theQuorumFlushIsTheMajoritysPositionAndADisconnectedSafekeeperCountsAtItsSlot() {
        CommitPathSample s = new CommitPathSample(Lsn.parse("0/5000000"), List.of(
                sk("sk-1", "0/1000000", "0/4000000"),
                sk("sk-2", "0/2000000", null), // paused: its slot holds what it last reported
                sk("sk-3", null, null)),      // slot lost, disconnected: nothing
                List.of(), 0, 1);
        assertThat(s.quorumFlush(2)).isEqualTo(Lsn.parse("0/2000000"));
        assertThat(s.flushLag(2)).isEqualTo(0x3000000L);
        assertThat(s.quorumFlush(1)).isEqualTo(Lsn.parse("0/4000000"));
        assertThat(s.quorumFlush(3)).isEqualTo(Lsn.INVALID);
        assertThatThrownBy(() -> CommitPathSample.kthBest(List.of(), 0)).hasMessageContaining("at least 1");
    }

    @Test
    void settingsParseLikePostgresUnitsAndBadValuesNameTheSetting() {
        CommitPathSettings s = CommitPathSettings.from(Map.of(CommitPathSettings.MAX_REPLICATION_FLUSH_LAG, "32MB",
                CommitPathSettings.COMMIT_WEDGE_TIMEOUT, "5s", CommitPathSettings.THROTTLE_PERIOD, "50ms"));
        assertThat(s.maxReplicationFlushLag()).isEqualTo(32L << 20);
        assertThat(s.wedgeTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.throttlePeriod()).isEqualTo(Duration.ofMillis(50));
        assertThat(CommitPathSettings.from(Map.of())).isEqualTo(CommitPathSettings.DEFAULTS);
        assertThatThrownBy(() -> CommitPathSettings.from(Map.of(CommitPathSettings.MAX_REPLICATION_FLUSH_LAG, "lots")))
                .hasMessageContaining("strata.max_replication_flush_lag").hasMessageContaining("lots");
        assertThatThrownBy(() -> CommitPathSettings.from(Map.of(CommitPathSettings.MAX_REPLICATION_FLUSH_LAG, "10kB")))
                .hasMessageContaining("at least 1MB");
        assertThatThrownBy(() -> CommitPathSettings.from(Map.of(CommitPathSettings.THROTTLE_PERIOD, "5s")))
                .hasMessageContaining("20ms..1000ms");
        // The slot bound must leave room for a throttled quorum (default 2GB vs 256MB: fine).
        CommitPathSettings.DEFAULTS.requireSlotKeepAbove("2GB");
        CommitPathSettings.DEFAULTS.requireSlotKeepAbove("-1");
        CommitPathSettings.DEFAULTS.requireSlotKeepAbove("2048");
        assertThatThrownBy(() -> CommitPathSettings.DEFAULTS.requireSlotKeepAbove("1GB"))
                .hasMessageContaining("max_slot_wal_keep_size 1GB").hasMessageContaining("256MB");
    }
}
