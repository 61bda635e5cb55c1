package dev.strata.pgcore.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.protocol.replication.ReplicationCommands;
import org.junit.jupiter.api.Test;

class ReplicationSlotNameTest {

    @Test
    void aSafekeeperIdBecomesAValidSlotName() {
        assertThat(ReplicationSlotName.forSafekeeper(NodeId.of("sk-1")).value()).isEqualTo("strata_sk_1");
        assertThat(ReplicationSlotName.forSafekeeper(NodeId.of("0")).value()).isEqualTo("strata_0");
        assertThat(ReplicationSlotName.forSafekeeper(NodeId.of("sk-1")).isStrataSlot()).isTrue();
    }

    @Test
    void longIdsAreCutToNamedatalenAndStayDistinct() {
        String common = "a".repeat(60);
        ReplicationSlotName a = ReplicationSlotName.forSafekeeper(NodeId.of(common + "-x1"));
        ReplicationSlotName b = ReplicationSlotName.forSafekeeper(NodeId.of(common + "-x2"));
        assertThat(a.value()).hasSizeLessThanOrEqualTo(63).matches("[a-z0-9_]+");
        assertThat(b.value()).hasSizeLessThanOrEqualTo(63);
        assertThat(a).isNotEqualTo(b);
        // 56 characters still fit whole: no hash.
        String fits = "b".repeat(56);
        assertThat(ReplicationSlotName.forSafekeeper(NodeId.of(fits)).value()).isEqualTo("strata_" + fits);
        assertThat(ReplicationSlotName.forSafekeeper(NodeId.of(fits + "c")).value()).hasSize(63).doesNotEndWith("c");
    }

    @Test
    void hostileNamesAreRefusedWithTheValue() {
        for (String bad : new String[] {"", "Strata", "a-b", "x; DROP TABLE t", "slot\"", "é", "a".repeat(64), "a b"}) {
            assertThatThrownBy(() -> new ReplicationSlotName(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[a-z0-9_]");
        }
        assertThatThrownBy(() -> NodeId.of("sk_1; DROP")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void startReplicationNamesTheSlotOnlyWhenThereIsOne() {
        Lsn at = Lsn.parse("0/1A2B3C");
        assertThat(ReplicationCommands.startPhysical(null, at, 1)).isEqualTo("START_REPLICATION PHYSICAL 0/1A2B3C TIMELINE 1");
        assertThat(ReplicationCommands.startPhysical(new ReplicationSlotName("strata_sk_1"), at, 2))
                .isEqualTo("START_REPLICATION SLOT strata_sk_1 PHYSICAL 0/1A2B3C TIMELINE 2");
        assertThatThrownBy(() -> ReplicationCommands.startPhysical(null, at, 0)).hasMessageContaining("timeline 0");
    }
}
