package dev.strata.safekeeper.offload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WalObjectKeysTest {

    private static final TimelineId TL = TimelineId.parse("0a0a0000000000000000000000000001");

    @Test
    void keysNameTheTimelineTheSegmentAndItsChecksum() {
        String key = WalObjectKeys.key(TL, "000000010000000000000005", 0x1a2b3c4d);
        assertThat(key).isEqualTo("safekeeper/v1/wal/0a0a0000000000000000000000000001/000000010000000000000005.1a2b3c4d");
        assertThat(key).startsWith(WalObjectKeys.segmentPrefix(TL, "000000010000000000000005"))
                .startsWith(WalObjectKeys.timelinePrefix(TL));
        assertThat(WalObjectKeys.parse(key))
                .isEqualTo(new WalObjectKeys.SegmentObject(TL, "000000010000000000000005", 0x1a2b3c4d));
        assertThat(WalObjectKeys.parse(WalObjectKeys.key(TL, "000000010000000000000005", 0xF0000001)).crc32c())
                .isEqualTo(0xF0000001);
    }

    @Test
    void anythingElseIsRefusedNamingTheKey() {
        for (String bad : new String[] {"", "safekeeper/v1/wal/0a0a0000000000000000000000000001/000000010000000000000005",
                "safekeeper/v2/wal/0a0a0000000000000000000000000001/000000010000000000000005.1a2b3c4d",
                "safekeeper/v1/wal/0a0a0000000000000000000000000001/000000010000000000000005.partial",
                "pageserver/v1/timelines/0a0a0000000000000000000000000001/x-00000001"}) {
            assertThatThrownBy(() -> WalObjectKeys.parse(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + bad + "'");
        }
    }

    @Test
    void theUploaderIsTheLowestLiveMember() {
        NodeId sk1 = NodeId.of("sk-1");
        NodeId sk2 = NodeId.of("sk-2");
        NodeId sk3 = NodeId.of("sk-3");
        long now = 1_000_000_000_000L;
        long window = 3_000_000_000L;
        assertThat(UploaderChoice.choose(sk2, Map.of(sk1, now - 1, sk3, now), now, window)).isEqualTo(sk1);
        assertThat(UploaderChoice.choose(sk2, Map.of(sk1, now - window - 1, sk3, now), now, window))
                .as("sk-1 silent for longer than the window: sk-2 takes over").isEqualTo(sk2);
        assertThat(UploaderChoice.choose(sk3, Map.of(), now, window)).as("alone").isEqualTo(sk3);
        assertThat(UploaderChoice.choose(sk1, Map.of(sk2, now, sk3, now), now, window)).isEqualTo(sk1);
    }
}
